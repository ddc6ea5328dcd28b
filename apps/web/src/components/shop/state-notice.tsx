import type { SaleState } from '@surge/contracts';
import { CalendarClock, CirclePause, CircleSlash, PackageX, RotateCw } from 'lucide-react';

const NOTICES: Record<Exclude<SaleState, 'live'>, { icon: typeof CirclePause; text: string }> = {
  scheduled: {
    icon: CalendarClock,
    text: 'The sale has not started yet. Buying opens when the countdown ends.',
  },
  paused: {
    icon: CirclePause,
    text: 'The sale is paused for a moment. Stay on this page — it resumes live.',
  },
  soldout: { icon: PackageX, text: 'Sold out. Every unit has been reserved.' },
  ended: { icon: CircleSlash, text: 'This sale has ended. Thank you for shopping with us.' },
  rebuilding: { icon: RotateCw, text: 'The sale is being restored. Buying resumes in a moment.' },
};

/** Why Buy is disabled, for every state but live. */
export function StateNotice({ state }: { state: SaleState }) {
  if (state === 'live') return null;
  const { icon: Icon, text } = NOTICES[state];
  return (
    <p className="state-notice" data-state={state} role="status">
      <Icon size={18} aria-hidden className={state === 'rebuilding' ? 'spin' : undefined} />
      {text}
    </p>
  );
}
