import type { HudEvent } from '@surge/contracts';
import { Copy, Gauge, HeartPulse, RotateCw, Siren, Skull, UserCog, Zap } from 'lucide-react';
import { formatClock } from '../../lib/format.ts';

const KIND_ICON: Record<HudEvent['kind'], typeof Copy> = {
  admin: UserCog,
  'rate-limit': Gauge,
  duplicate: Copy,
  'dead-letter': Skull,
  breaker: Zap,
  health: HeartPulse,
  rebuild: RotateCw,
  alarm: Siren,
};

/** Admin actions, rate-limit hits, duplicates, dead letters, breaker and health changes. */
export function EventFeed({ events }: { events: HudEvent[] }) {
  return (
    <section className="panel feed-panel" aria-labelledby="feed-title">
      <h2 id="feed-title" className="panel-title">
        <Siren size={18} aria-hidden /> Event feed <span className="muted num">{events.length}</span>
      </h2>
      <ol className="feed" data-testid="event-feed" aria-live="off">
        {events.length === 0 ? <li className="muted">Quiet so far.</li> : null}
        {events.map((e) => {
          const Icon = KIND_ICON[e.kind] ?? Siren;
          return (
            <li key={e.id} className="feed-item" data-kind={e.kind}>
              <Icon size={15} aria-hidden className="feed-icon" />
              <time className="num feed-time" dateTime={e.at}>
                {formatClock(e.at)}
              </time>
              <span className="feed-kind">{e.kind}</span>
              <span className="feed-msg">{e.message}</span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
