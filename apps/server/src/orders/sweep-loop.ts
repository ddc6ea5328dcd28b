import { type Logger, startLoop } from '@surge/infra';
import type { SaleCatalog } from '../sales/catalog.ts';
import type { RebuildCoordinator } from '../sales/rebuild.ts';
import type { RedisRestartWatch } from '../sales/redis-restart.ts';
import { type SweepDeps, sweepSale } from './sweeper.ts';

/**
 * Every server's background loop, each `SWEEP_INTERVAL_MS` (docs/architecture.md, "The
 * outbox and the sweeper"): check Redis's run_id, refresh the sale catalogue every tenth tick
 * (sales created through another server, or found by nobody yet, join the sweep too; a
 * restock cut short by a crash is completed), settle
 * each sale's expired reservations (sweeper.ts) and restart rebuilds nobody is running.
 */
export function startSweepLoop(d: {
  intervalMs: number;
  /** The sweeper's dependencies, the same for every sale and every tick. */
  sweep: SweepDeps;
  catalog: SaleCatalog;
  rebuild: RebuildCoordinator;
  redisRestart: RedisRestartWatch;
  log: Logger;
}): { stop(): Promise<void> } {
  let ticks = 0;
  return startLoop(
    d.intervalMs,
    async () => {
      await d.redisRestart.check();
      if (++ticks % 10 === 0) {
        await d.catalog.refresh();
        await reconcileTotals(d.sweep, d.catalog);
      }
      for (const saleId of d.catalog.ids()) {
        await sweepSale(d.sweep, saleId);
        if (await d.rebuild.needsRebuild(saleId)) d.rebuild.request(saleId);
      }
    },
    (err) => d.log.warn({ err }, 'sweeper tick failed'),
  );
}

/**
 * A restock commits PostgreSQL, then raises Redis's total and remaining to the new absolute
 * total. A server killed between the two leaves Redis behind for good — units nobody can buy
 * (I2) — so every tenth tick each server applies PostgreSQL's total again: the step adds only
 * what Redis lacks, and does nothing while the sale rebuilds (the rebuild reads the total).
 * Found while building the fault run's kill -9 during a restock.
 */
async function reconcileTotals(d: SweepDeps, catalog: SaleCatalog): Promise<void> {
  for (const saleId of catalog.ids()) {
    const total = catalog.total(saleId);
    if (total === undefined || catalog.ended(saleId)) continue;
    await d.scripts.adminUpdate(d.keysOf(saleId), 'restock', total);
  }
}
