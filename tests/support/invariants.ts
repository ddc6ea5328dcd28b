import type { PrismaClient } from '@surge/db';
import { expect } from 'vitest';
import { checkSale, type HistoryEvent, waitForQuiet } from './checker/index.ts';
import { SHARED } from './services.ts';

/**
 * The checker (tests/support/checker) as vitest assertions. Waits until the sale is quiet:
 * nothing in the stream for it, no open record, no outbox entry.
 */
export async function waitForDrain(
  ns: string,
  saleId: string,
  timeoutMs = 60_000,
  redisUrl = SHARED.redis,
  natsUrl = SHARED.nats,
): Promise<void> {
  await waitForQuiet({ ns, saleId, timeoutMs, redisUrl, natsUrl, stepMs: 200 });
}

/**
 * docs/architecture.md#invariants checked on a quiet system — I1 (no oversell), I2 (conservation),
 * I3 (exactly once: every definite success has exactly one final row under its id, no row without
 * an accepted or indeterminate call), I4 (one order per key), I5 (per-user limit, Redis agreeing
 * with PostgreSQL) and, given a history, I6 — asserting that the checker finds no violation.
 */
export async function checkInvariants(o: {
  prisma: PrismaClient;
  ns: string;
  saleId: string;
  total: number;
  perUserLimit: number;
  accepted: Set<string>;
  indeterminate?: Set<string>;
  /** Answers that were OUTCOME_UNKNOWN or lost: each may have made at most one row. */
  unknownAnswers?: number;
  /** A private Redis, for tests that run their own. */
  redisUrl?: string;
  /** Every call as invoke → ok / fail / info (checker/history.ts), judged along with the sets. */
  history?: readonly HistoryEvent[];
}): Promise<{ live: number; remaining: number; byStatus: Record<string, number> }> {
  const { violations, facts } = await checkSale({
    db: o.prisma,
    redis: o.redisUrl ?? SHARED.redis,
    ns: o.ns,
    saleId: o.saleId,
    total: o.total,
    perUserLimit: o.perUserLimit,
    accepted: o.accepted,
    indeterminate: { orderIds: o.indeterminate ?? [], count: o.unknownAnswers ?? 0 },
    history: o.history,
  });
  expect(violations, `invariants of sale ${o.saleId}`).toEqual([]);
  return { live: facts.live, remaining: facts.remaining, byStatus: facts.byStatus };
}
