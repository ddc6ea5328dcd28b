import type { Ticket } from '@surge/contracts';
import { Hourglass, PackageX, RotateCcw, Ticket as TicketIcon, Users } from 'lucide-react';
import { formatCount, formatDuration } from '../../lib/format.ts';
import { useNow } from '../../lib/use-now.ts';

/**
 * docs/architecture.md#the-waiting-room, the waiting room of a queued sale: the shopper's place, the people ahead, an
 * estimated wait and a progress bar; once admitted, the time left to buy.
 */
export function WaitingRoomPanel({
  ticket,
  firstPosition,
  startsAt,
  offsetMs,
  onRejoin,
}: {
  ticket: Ticket | null;
  firstPosition: number | null;
  /** The sale's start (ISO): what the line's order means depends on which side of it we are. */
  startsAt: string;
  offsetMs: number;
  onRejoin: () => void;
}) {
  const now = useNow(500) + offsetMs;
  if (!ticket) {
    return (
      <div className="waiting-room" data-testid="waiting-room" data-state="joining">
        <p className="muted">
          <Hourglass size={18} aria-hidden /> Joining the waiting room…
        </p>
      </div>
    );
  }
  if (ticket.state === 'admitted') {
    const left = ticket.tokenExpiresAt ? Date.parse(ticket.tokenExpiresAt) - now : null;
    return (
      <div className="waiting-room" data-testid="waiting-room" data-state="admitted" role="status">
        <p className="room-title">
          <TicketIcon size={18} aria-hidden /> It’s your turn — buy now.
        </p>
        {left !== null ? (
          <p className="muted">
            Your admission is valid for{' '}
            <span className="num" data-testid="token-time-left">
              {formatDuration(left)}
            </span>
          </p>
        ) : null}
      </div>
    );
  }
  if (ticket.state === 'soldout') {
    return (
      <div className="waiting-room" data-testid="waiting-room" data-state="soldout" role="status">
        <p className="room-title">
          <PackageX size={18} aria-hidden /> Sold out — every unit is taken.
        </p>
        <p className="muted">If units come back you keep your place in line.</p>
      </div>
    );
  }
  if (ticket.state === 'expired' || ticket.state === 'ended') {
    return (
      <div className="waiting-room" data-testid="waiting-room" data-state={ticket.state} role="status">
        <p className="room-title">
          {ticket.state === 'expired' ? 'Your turn has expired.' : 'This sale has ended.'}
        </p>
        {ticket.state === 'expired' ? (
          <button type="button" className="btn" data-testid="rejoin-button" onClick={onRejoin}>
            <RotateCcw size={18} aria-hidden /> Join the line again
          </button>
        ) : null}
      </div>
    );
  }
  const start = Math.max(firstPosition ?? ticket.position, ticket.position);
  const pct = start > 1 ? Math.round(((start - ticket.position) / (start - 1)) * 100) : 100;
  return (
    <div className="waiting-room" data-testid="waiting-room" data-state="waiting" role="status">
      <p className="room-title">
        <Users size={18} aria-hidden /> You are in the waiting room
      </p>
      <dl className="room-figures">
        <div>
          <dt>Your place</dt>
          <dd className="num" data-testid="queue-position">
            {formatCount(ticket.position)}
          </dd>
        </div>
        <div>
          <dt>Ahead of you</dt>
          <dd className="num" data-testid="queue-ahead">
            {formatCount(ticket.ahead)}
          </dd>
        </div>
        <div>
          <dt>Estimated wait</dt>
          <dd className="num" data-testid="queue-eta">
            {ticket.etaMs === null ? 'on hold' : formatDuration(ticket.etaMs)}
          </dd>
        </div>
      </dl>
      <div
        className="bar"
        data-testid="queue-progress"
        role="progressbar"
        aria-label="Progress in the line"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <div className="bar-fill" style={{ width: `${pct}%` }} />
      </div>
      <p className="muted" data-testid="queue-fairness">
        {now < Date.parse(startsAt)
          ? 'Everyone who joins before the start gets a random place, so there is no need to hurry.'
          : 'Those who joined before the start were given random places; since the start, the line keeps the order of arrival.'}{' '}
        This page switches to Buy by itself — no need to reload.
      </p>
    </div>
  );
}
