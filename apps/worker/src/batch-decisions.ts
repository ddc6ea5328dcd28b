import type { DeadLetterReason, OrderMessage } from '@surge/contracts';
import type { PersistResult } from './persist-orders.ts';

/**
 * The decisions of one batch (docs/architecture.md#the-workers-batch),
 * framework-free: no NATS message, no client, no metric — only what each order's state says
 * must happen to it. process-batch.ts does what they say; batch-decisions.test.ts is the table.
 */

/** After the claim (claim-record.lua): what becomes of one order. */
export type ClaimDecision =
  /** Never processable: stored as a dead letter, its reservation settled, the message terminated. */
  | { do: 'dead-letter'; reason: DeadLetterReason }
  /** A sweeper released the reservation (the caller was told so): ack, no row. */
  | { do: 'drop'; why: 'released' }
  /** A redelivery of a finished order: skip the insert, make sure its row is final. */
  | { do: 'settle' }
  | { do: 'persist' };

/**
 * @param claim claim-record.lua's reply for the order, or null when its sale does not exist
 *   (the claim is then never made).
 */
export function decideClaim(
  order: Pick<OrderMessage, 'userId' | 'quantity'>,
  claim: readonly string[] | null,
): ClaimDecision {
  if (!claim) return { do: 'dead-letter', reason: 'SALE_NOT_FOUND: the message names no existing sale' };
  const [state, userId, quantity] = claim;
  if (state === 'released') return { do: 'drop', why: 'released' };
  if (state === 'done') return { do: 'settle' };
  if (state === 'published' && (userId !== order.userId || Number(quantity) !== order.quantity)) {
    return { do: 'dead-letter', reason: 'RECORD_MISMATCH: the message disagrees with its reservation' };
  }
  return { do: 'persist' }; // 'published', or 'GONE' (Redis lost the record: the epoch decides)
}

/**
 * Whether the claim found this message's own reservation held: `published` at the message's
 * epoch. A record at another epoch is not this message's reservation — a dead-letter replay's,
 * reserved again after a rebuild, claimed by a late copy of the original message.
 */
export function holdsOwnReservation(claim: readonly string[] | null, epoch: number): boolean {
  return claim?.[0] === 'published' && Number(claim[3]) === epoch;
}

/** After the persist transaction (persist-orders.ts): what becomes of an order it was given. */
export type PersistedDecision =
  /** Reserved before a rebuild that could not see it (no record left): never a success, no row. */
  | { do: 'drop'; why: 'stale-epoch' }
  /**
   * Older than its sale's epoch while Redis still holds its reservation: Redis's hot state is
   * behind PostgreSQL (restored from an older snapshot, a second Redis on the same database).
   * The shopper was told "accepted", so the order gets its final row — FAILED unless one exists
   * (I3) — its record is finished with that status (units back), and the sale is rebuilt.
   */
  | { do: 'fail-stale' }
  /** Its key belongs to another order: Redis lost data. Alarm, finish the record FAILED, ack. */
  | { do: 'key-conflict' }
  /** No record and an epoch newer than the sale's: a forged message. A dead letter, no row. */
  | { do: 'dead-letter'; reason: DeadLetterReason }
  | { do: 'settle' };

/**
 * @param recordHeld the claim found the order's reservation record (`published`), not `GONE`
 */
export function decidePersisted(
  orderId: string,
  persisted: Pick<PersistResult, 'staleEpoch' | 'keyConflict'> & Partial<Pick<PersistResult, 'forgedEpoch'>>,
  recordHeld = false,
): PersistedDecision {
  if (persisted.staleEpoch.has(orderId))
    return recordHeld ? { do: 'fail-stale' } : { do: 'drop', why: 'stale-epoch' };
  if (persisted.forgedEpoch?.has(orderId))
    return {
      do: 'dead-letter',
      reason: 'FORGED_EPOCH: no reservation record and an epoch newer than the sale’s',
    };
  if (persisted.keyConflict.has(orderId)) return { do: 'key-conflict' };
  return { do: 'settle' };
}

/**
 * For an order whose record was already finished (`settle` after the claim): without its row,
 * a dead letter (a poison copy of this message) settled the reservation as FAILED first, and
 * the accepted order still gets its final row, FAILED (I3).
 *
 * @param status the order row's stored status; undefined when there is no row
 */
export function needsFailedRow(status: string | undefined): boolean {
  return status === undefined;
}

/** A row still PENDING gets its payment decided (new rows, and rows a crash left PENDING). */
export function needsPayment(status: string | undefined): boolean {
  return status === 'PENDING';
}

/** The status a record is finished with: the row's, once final; null leaves the record as it is. */
export function finalStatus(status: string | undefined): string | null {
  return status && status !== 'PENDING' ? status : null;
}
