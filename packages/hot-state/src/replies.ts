import { parseRecord, type ReservationRecord } from './keys.ts';

/**
 * What each Lua step answers (see the header of each lua/*.lua), as discriminated unions: the
 * first element of an array reply names the case, and TypeScript narrows the rest by it. The
 * `as…Reply` readers check a raw reply against its union once, where it leaves Redis, so no
 * caller casts; a reply outside the union (a script and its caller out of step) throws.
 */

/**
 * The state of a reservation record (docs/architecture.md#the-reservation-record): reserved →
 * published → done, or → released.
 */
export type RecordState = ReservationRecord['s'];

/** Why the sale checks (`judge_sale` in lua/prelude.lua) refuse a new reservation. */
export type SaleRefusal =
  | 'REBUILDING'
  | 'SALE_ENDED'
  | 'SALE_PAUSED'
  | 'SALE_NOT_STARTED'
  | 'USER_LIMIT'
  | 'IP_LIMIT'
  | 'SOLD_OUT';

/** reserve-stock.lua. Numbers travel as strings (epoch, lease expiry in ms). */
export type ReserveReply =
  | [decision: 'RESERVED', orderId: string, epoch: string, leaseExpiryMs: string]
  | [decision: 'REPLAY', orderId: string, status: string, correlationId: string]
  | [decision: 'IN_FLIGHT' | 'MISMATCH' | 'INCONSISTENT', orderId: string]
  | [decision: 'NOT_ADMITTED' | 'QUEUE_UNAVAILABLE' | SaleRefusal];

/** re-reserve.lua (`admin.dlq.replay`). */
export type ReReserveReply = [decision: 'RESERVED', epoch: string] | [decision: 'NOT_FINISHED' | SaleRefusal];

/** mark-published.lua: the record's state after the call, or GONE. */
export type MarkPublishedReply = 'published' | 'done' | 'released' | 'GONE';

/**
 * release-reservation.lua: `['released']` when this call released the record; otherwise what
 * stopped it — another lease, no record, or the state (and stored status) it is already in.
 */
export type ReleaseReply =
  | [outcome: 'released' | 'LEASE_LOST' | 'GONE']
  | [state: 'published' | 'done' | 'released', status: string];

/** claim-record.lua (worker). Quantity and epoch travel as strings. */
export type ClaimReply =
  | [state: 'published', userId: string, quantity: string, epoch: string]
  | [state: 'done', status: string]
  | [state: 'released' | 'GONE'];

/** finish-record.lua: 'done' when this call finished it, else the state found, or GONE. */
export type FinishReply = 'done' | 'released' | 'GONE';

/** admin-update.lua. */
export type AdminUpdateReply = 'OK' | 'MISSING' | 'REBUILDING';

/** write-hot-state.lua: 1 written, 0 the rebuild lease is not ours. */
export type WriteHotReply = 0 | 1;

export class UnexpectedReply extends Error {
  override name = 'UnexpectedReply';
  constructor(step: string, reply: unknown) {
    super(`unexpected reply from ${step}: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
}

/** An array reply of strings whose first element is one of `shapes`, with a length it allows. */
function tuple<T extends [string, ...string[]]>(
  step: string,
  shapes: { readonly [K in T[0]]: readonly number[] },
  reply: unknown,
): T {
  if (Array.isArray(reply) && reply.every((x) => typeof x === 'string')) {
    const tag: unknown = reply[0];
    if (typeof tag === 'string' && Object.hasOwn(shapes, tag)) {
      const lengths: readonly number[] = shapes[tag as T[0]];
      if (lengths.includes(reply.length)) return reply as T;
    }
  }
  throw new UnexpectedReply(step, reply);
}

function oneOf<T extends string>(step: string, values: readonly T[], reply: unknown): T {
  if ((values as readonly unknown[]).includes(reply)) return reply as T;
  throw new UnexpectedReply(step, reply);
}

const REFUSED = [1] as const;

export const asReserveReply = (reply: unknown): ReserveReply =>
  tuple<ReserveReply>(
    'reserve-stock',
    {
      RESERVED: [4],
      REPLAY: [4],
      IN_FLIGHT: [2],
      MISMATCH: [2],
      INCONSISTENT: [2],
      NOT_ADMITTED: REFUSED,
      QUEUE_UNAVAILABLE: REFUSED,
      REBUILDING: REFUSED,
      SALE_ENDED: REFUSED,
      SALE_PAUSED: REFUSED,
      SALE_NOT_STARTED: REFUSED,
      USER_LIMIT: REFUSED,
      IP_LIMIT: REFUSED,
      SOLD_OUT: REFUSED,
    },
    reply,
  );

export const asReReserveReply = (reply: unknown): ReReserveReply =>
  tuple<ReReserveReply>(
    're-reserve',
    {
      RESERVED: [2],
      NOT_FINISHED: REFUSED,
      REBUILDING: REFUSED,
      SALE_ENDED: REFUSED,
      SALE_PAUSED: REFUSED,
      SALE_NOT_STARTED: REFUSED,
      USER_LIMIT: REFUSED,
      IP_LIMIT: REFUSED,
      SOLD_OUT: REFUSED,
    },
    reply,
  );

export const asMarkPublishedReply = (reply: unknown): MarkPublishedReply =>
  oneOf('mark-published', ['published', 'done', 'released', 'GONE'], reply);

export const asReleaseReply = (reply: unknown): ReleaseReply =>
  tuple<ReleaseReply>(
    'release-reservation',
    { released: [1, 2], LEASE_LOST: [1], GONE: [1], published: [2], done: [2] },
    reply,
  );

export const asClaimReply = (reply: unknown): ClaimReply =>
  tuple<ClaimReply>('claim-record', { published: [4], done: [2], released: [1], GONE: [1] }, reply);

export const asFinishReply = (reply: unknown): FinishReply =>
  oneOf('finish-record', ['done', 'released', 'GONE'], reply);

/** A step that answers one reply per item (the worker's batched claim and finish). */
export function asReplyList<T>(reply: unknown, length: number, one: (r: unknown) => T): T[] {
  if (!Array.isArray(reply) || reply.length !== length) throw new UnexpectedReply('reply list', reply);
  return reply.map(one);
}

export const asAdminUpdateReply = (reply: unknown): AdminUpdateReply =>
  oneOf('admin-update', ['OK', 'MISSING', 'REBUILDING'], reply);

export function asWriteHotReply(reply: unknown): WriteHotReply {
  if (reply === 0 || reply === 1) return reply;
  throw new UnexpectedReply('write-hot-state', reply);
}

/** take-lease.lua: the record with its new lease, or null when there was nothing to take. */
export function asTakenRecord(reply: unknown): ReservationRecord | null {
  if (reply === null) return null;
  if (typeof reply === 'string') return parseRecord(reply);
  throw new UnexpectedReply('take-lease', reply);
}

/**
 * A waiting room as queue-join.lua / queue-read.lua read it (`room_reply` in prelude.lua):
 * the room's figures and, when `ticket` is set, one user's ticket. Times in Redis ms.
 */
export interface RoomSnapshot {
  nowMs: number;
  /** Admitted so far, in line order: everyone ranked below it has been admitted. */
  cursor: number;
  lineLength: number;
  remaining: number;
  startsMs: number;
  endsMs: number;
  paused: boolean;
  admitPerSecond: number;
  tokenTtlMs: number;
  admittedLastSecond: number;
  outstanding: number;
  /** The user's place (0-based rank in the line) and admission time; null without a ticket. */
  ticket: { rank: number; admittedAtMs: number | null } | null;
}

/** queue-join.lua and queue-read.lua. */
export type RoomReply = RoomSnapshot | 'UNQUEUED' | 'REBUILDING';

export function asRoomReply(step: string, reply: unknown): RoomReply {
  if (Array.isArray(reply) && reply.length === 1 && (reply[0] === 'UNQUEUED' || reply[0] === 'REBUILDING'))
    return reply[0];
  const r = tuple<[string, ...string[]]>(step, { OK: [14], NONE: [14] } as Record<string, number[]>, reply);
  const n = (i: number) => Number(r[i]);
  return {
    nowMs: n(1),
    cursor: n(2),
    lineLength: n(3),
    remaining: Math.max(0, n(4)),
    startsMs: n(5),
    endsMs: n(6),
    paused: r[7] === '1',
    admitPerSecond: n(8),
    tokenTtlMs: n(9),
    admittedLastSecond: n(10),
    outstanding: n(11),
    ticket: r[0] === 'OK' && n(12) >= 0 ? { rank: n(12), admittedAtMs: r[13] ? n(13) : null } : null,
  };
}

/** queue-read-many.lua: the room, and each asked user's place in order (null: no ticket). */
export interface RoomPlaces {
  room: RoomSnapshot;
  places: ({ rank: number; admittedAtMs: number | null } | null)[];
}

export function asRoomPlaces(reply: unknown, users: number): RoomPlaces {
  if (!Array.isArray(reply) || reply.length !== 14 + 2 * users || !reply.every((x) => typeof x === 'string'))
    throw new UnexpectedReply('queue-read-many', reply);
  const room = asRoomReply('queue-read-many', reply.slice(0, 14));
  if (typeof room === 'string') throw new UnexpectedReply('queue-read-many', reply);
  const places: RoomPlaces['places'] = new Array(users);
  for (let i = 0; i < users; i++) {
    const rank = Number(reply[14 + 2 * i]);
    const admit = reply[15 + 2 * i] as string;
    places[i] = rank >= 0 ? { rank, admittedAtMs: admit ? Number(admit) : null } : null;
  }
  return { room, places };
}

/** admit.lua: how many it admitted. */
export function asAdmitReply(reply: unknown): number {
  if (Array.isArray(reply) && reply.length === 1 && typeof reply[0] === 'number') return reply[0];
  throw new UnexpectedReply('admit', reply);
}
