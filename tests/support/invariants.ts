import type { PrismaClient } from '@surge/db';
import { expect } from 'vitest';
import { hotState, streamMessages } from './inspect.ts';
import { eventually } from './services.ts';

/** Waits until the sale is quiet: nothing in the stream for it, no open record, no outbox entry. */
export async function waitForDrain(
  ns: string,
  saleId: string,
  timeoutMs = 60_000,
  redisUrl?: string,
): Promise<void> {
  await eventually(
    async () => {
      const [msgs, state] = await Promise.all([streamMessages(ns), hotState(ns, saleId, redisUrl)]);
      return (
        msgs.filter((m) => m.msg.saleId === saleId).length === 0 && state.open === 0 && state.outbox === 0
      );
    },
    timeoutMs,
    200,
  );
}

/**
 * SPEC §3 checked on a quiet system: I1 (no oversell), I2 (conservation), I3 (exactly once:
 * every definite success has exactly one final row under its id, no row without an accepted
 * or indeterminate call) and I5 (per-user limit).
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
}): Promise<{ live: number; remaining: number; byStatus: Record<string, number> }> {
  const rows = await o.prisma.order.findMany({ where: { saleId: o.saleId } });
  const state = await hotState(o.ns, o.saleId, o.redisUrl);
  const remaining = Number(state.hot.remaining);
  const liveRows = rows.filter((r) => r.status === 'PENDING' || r.status === 'CONFIRMED');
  const live = liveRows.reduce((s, r) => s + r.quantity, 0);
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;

  expect(remaining, 'I1: remaining never below 0').toBeGreaterThanOrEqual(0);
  expect(live, 'I1: live units within total stock').toBeLessThanOrEqual(o.total);
  expect(remaining + live, 'I2: remaining + Σ live == total').toBe(o.total);

  const ids = new Set(rows.map((r) => r.id));
  expect(rows.length, 'I3: one row per id').toBe(ids.size);
  const missing = [...o.accepted].filter((id) => !ids.has(id));
  expect(missing, 'I3: every definite success has its row').toEqual([]);
  const unexplained = rows
    .filter((r) => !o.accepted.has(r.id) && !o.indeterminate?.has(r.id))
    .map((r) => r.id);
  expect(
    unexplained.length,
    'I3: no row without an accepted call (an indeterminate one may have one)',
  ).toBeLessThanOrEqual(o.unknownAnswers ?? 0);
  expect(
    rows.filter((r) => r.status === 'PENDING').map((r) => r.id),
    'every row final once quiet',
  ).toEqual([]);

  const perUser = new Map<string, number>();
  for (const r of liveRows) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + r.quantity);
  const over = [...perUser].filter(([, q]) => q > o.perUserLimit);
  expect(over, 'I5: no user above perUserLimit').toEqual([]);
  // Redis agrees with PostgreSQL on every user's held units.
  const redisHeld = Object.fromEntries(Object.entries(state.users).map(([u, q]) => [u, Number(q)]));
  expect(redisHeld, 'per-user counts in Redis == Σ live rows').toEqual(Object.fromEntries(perUser));
  return { live, remaining, byStatus };
}
