import { LogOut, Moon, Radio, Sun } from 'lucide-react';
import type { Theme } from '../../lib/theme.ts';
import { Brand } from '../brand.tsx';

interface Props {
  theme: Theme;
  onToggleTheme: () => void;
  /** null: not signed in (no logout button). */
  onLogout: (() => void) | null;
  link: 'live' | 'connecting' | 'offline';
}

export function HudHeader({ theme, onToggleTheme, onLogout, link }: Props) {
  return (
    <header className="topbar hud-topbar">
      <Brand suffix="control center" />
      <div className="topbar-actions">
        {onLogout ? (
          <span className="link-state" data-link={link} role="status">
            <Radio size={16} aria-hidden />{' '}
            {link === 'live' ? 'live' : link === 'connecting' ? 'connecting…' : 'offline'}
          </span>
        ) : null}
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          data-testid="theme-toggle"
          aria-pressed={theme === 'light'}
          aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
          onClick={onToggleTheme}
        >
          {theme === 'dark' ? <Sun size={16} aria-hidden /> : <Moon size={16} aria-hidden />}
          <span className="hide-sm">{theme === 'dark' ? 'Light' : 'Dark'}</span>
        </button>
        {onLogout ? (
          <button type="button" className="btn btn-ghost btn-sm" data-testid="logout" onClick={onLogout}>
            <LogOut size={16} aria-hidden />
            <span className="hide-sm">Log out</span>
          </button>
        ) : null}
      </div>
    </header>
  );
}
