import type { Ticket } from '@surge/contracts';
import type { RoomSnapshot } from '@surge/hot-state';

/**
 * A shopper's ticket (docs/architecture.md#the-waiting-room) from one read of the waiting room: pure, so queue.join,
 * queue.get and every live.queue frame derive it alike. `sign` makes the admission token of
 * an admitted ticket (deterministic: the same token on every read).
 */
export function ticketOf(
  saleId: string,
  room: RoomSnapshot,
  own: { rank: number; admittedAtMs: number | null },
  sign: (expiresMs: number) => string,
): Ticket {
  const waiting = Math.max(0, room.lineLength - room.cursor);
  const base = { saleId, waiting, admissionToken: null, tokenExpiresAt: null };
  if (own.admittedAtMs !== null) {
    const expiresMs = own.admittedAtMs + room.tokenTtlMs;
    const tokenExpiresAt = new Date(expiresMs).toISOString();
    const done = { ...base, position: 0, ahead: 0, etaMs: 0, tokenExpiresAt };
    if (room.nowMs >= expiresMs) return { ...done, state: 'expired' };
    if (room.nowMs >= room.endsMs) return { ...done, state: 'ended' };
    return { ...done, state: 'admitted', admissionToken: sign(expiresMs) };
  }
  const position = Math.max(1, own.rank - room.cursor + 1);
  const ticket = { ...base, position, ahead: position - 1 };
  if (room.nowMs >= room.endsMs) return { ...ticket, state: 'ended', etaMs: null };
  if (room.remaining <= 0) return { ...ticket, state: 'soldout', etaMs: null };
  return { ...ticket, state: 'waiting', etaMs: etaMs(room, position) };
}

/** Before the start places still shift as others join: a follower re-reads its own at most this often. */
const PRE_START_REREAD_MS = 1000;

/**
 * Whether a `live.queue` follower must read its own place again before deriving its ticket from
 * the shared read of the room: it has none yet, the cursor passed it (to learn its admission
 * time), the line is shorter than its place (Redis lost the room: the read says NOT_IN_QUEUE),
 * or, before the start, a second has passed (pre-start places shift as others join).
 */
export function ownReadDue(
  room: RoomSnapshot,
  own: { rank: number; admittedAtMs: number | null } | null,
  ownReadAtMs: number,
): boolean {
  return (
    !own ||
    (own.admittedAtMs === null && room.cursor > own.rank) ||
    room.lineLength <= own.rank ||
    (room.nowMs < room.startsMs && room.nowMs - ownReadAtMs >= PRE_START_REREAD_MS)
  );
}

/** When the shopper at `position` is admitted at the current rate; null while admission is held. */
function etaMs(room: RoomSnapshot, position: number): number | null {
  if (room.paused || room.admitPerSecond <= 0) return null;
  const untilStart = Math.max(0, room.startsMs - room.nowMs);
  return untilStart + Math.ceil((position * 1000) / room.admitPerSecond);
}

/** docs/architecture.md#the-waiting-room: on a sale without a waiting room everyone is admitted, with no token. */
export function unqueuedTicket(saleId: string): Ticket {
  return {
    saleId,
    state: 'admitted',
    position: 0,
    ahead: 0,
    waiting: 0,
    etaMs: 0,
    admissionToken: null,
    tokenExpiresAt: null,
  };
}
