import { describe, expect, it } from 'vitest';
import {
  decideClaim,
  decidePersisted,
  finalStatus,
  holdsOwnReservation,
  needsFailedRow,
  needsPayment,
} from './batch-decisions.ts';

/**
 * The decision table of one batch (docs/architecture.md#the-workers-batch): claim reply × message →
 * action, and so on.
 */
const order = { userId: 'u_1', quantity: 2 };

describe('after the claim', () => {
  it.each([
    // [claim-record.lua's reply (null: the sale does not exist), decision]
    [null, { do: 'dead-letter', reason: 'SALE_NOT_FOUND: the message names no existing sale' }],
    [['released'], { do: 'drop', why: 'released' }],
    [['done', 'CONFIRMED'], { do: 'settle' }],
    [['done', 'FAILED'], { do: 'settle' }],
    [['published', 'u_1', '2', '1'], { do: 'persist' }],
    [
      ['published', 'u_2', '2', '1'],
      { do: 'dead-letter', reason: 'RECORD_MISMATCH: the message disagrees with its reservation' },
    ],
    [
      ['published', 'u_1', '3', '1'],
      { do: 'dead-letter', reason: 'RECORD_MISMATCH: the message disagrees with its reservation' },
    ],
    // Redis lost the record: the epoch fence in the persist transaction decides.
    [['GONE'], { do: 'persist' }],
  ] as const)('%j → %j', (claim, decision) => {
    expect(decideClaim(order, claim)).toEqual(decision);
  });
});

describe("the claim found the message's own reservation", () => {
  it.each([
    [['published', 'u1', '2', '1'], 1, true],
    // A dead-letter replay's reservation at the new epoch, claimed by a late copy of epoch 1.
    [['published', 'u1', '2', '2'], 1, false],
    [['GONE'], 1, false],
    [['done', 'CONFIRMED'], 1, false],
    [['released'], 1, false],
    [null, 1, false],
  ] as const)('%j for a message of epoch %i → %s', (claim, epoch, held) => {
    expect(holdsOwnReservation(claim, epoch)).toBe(held);
  });
});

describe('after the persist transaction', () => {
  const persisted = {
    staleEpoch: new Set(['stale']),
    keyConflict: new Set(['taken']),
    forgedEpoch: new Set(['forged']),
  };
  it('a record-less message with a newer epoch is a forgery: a dead letter (README.md#security)', () => {
    expect(decidePersisted('forged', persisted)).toEqual({
      do: 'dead-letter',
      reason: 'FORGED_EPOCH: no reservation record and an epoch newer than the sale’s',
    });
  });
  it('an older epoch whose record Redis lost is dropped, never persisted', () => {
    expect(decidePersisted('stale', persisted)).toEqual({ do: 'drop', why: 'stale-epoch' });
    expect(decidePersisted('stale', persisted, false)).toEqual({ do: 'drop', why: 'stale-epoch' });
  });
  it('an older epoch whose reservation Redis still holds ends FAILED (Redis behind PostgreSQL)', () => {
    expect(decidePersisted('stale', persisted, true)).toEqual({ do: 'fail-stale' });
    expect(decidePersisted('new', persisted, true)).toEqual({ do: 'settle' });
  });
  it('a key taken by another order is a key conflict (Redis lost data)', () => {
    expect(decidePersisted('taken', persisted)).toEqual({ do: 'key-conflict' });
  });
  it('an inserted row or a redelivery is settled', () => {
    expect(decidePersisted('new', persisted)).toEqual({ do: 'settle' });
  });
});

describe('settling by the stored status', () => {
  it.each([
    // [row status (undefined: no row), FAILED row for a finished record, pay, finish the record with]
    [undefined, true, false, null],
    ['PENDING', false, true, null],
    ['CONFIRMED', false, false, 'CONFIRMED'],
    ['FAILED_PAYMENT', false, false, 'FAILED_PAYMENT'],
    ['FAILED', false, false, 'FAILED'],
  ] as const)('%s → failed row %s, pay %s, finish with %s', (status, row, pay, finish) => {
    expect(needsFailedRow(status)).toBe(row);
    expect(needsPayment(status)).toBe(pay);
    expect(finalStatus(status)).toBe(finish);
  });
});
