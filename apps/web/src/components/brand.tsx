import { Zap } from 'lucide-react';

/** The Surge word mark: a bolt and the name, in the HUD typeface. */
export function Brand({ suffix }: { suffix?: string }) {
  return (
    <span className="brand">
      <Zap className="brand-bolt" size={20} aria-hidden />
      <span className="brand-name">SURGE</span>
      {suffix ? <span className="brand-suffix">{suffix}</span> : null}
    </span>
  );
}
