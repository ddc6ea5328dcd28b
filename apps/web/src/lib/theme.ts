import { useCallback, useState } from 'react';

/** The HUD's colour theme: dark by default, the choice kept across reloads. */
export type Theme = 'dark' | 'light';

const STORAGE_KEY = 'surge-theme';

export function storedTheme(): Theme {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'light' ? 'light' : 'dark';
  } catch {
    return 'dark'; // storage blocked (privacy mode): the default
  }
}

/** `data-theme` on <html> selects the CSS variables; color-scheme styles native controls too. */
export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
}

export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const toggle = useCallback(() => {
    setTheme((current) => {
      const next: Theme = current === 'dark' ? 'light' : 'dark';
      try {
        localStorage.setItem(STORAGE_KEY, next);
      } catch {
        // not kept, still applied
      }
      applyTheme(next);
      return next;
    });
  }, []);
  return [theme, toggle];
}
