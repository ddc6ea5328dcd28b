import { RECONCILE_FLAG_MS, type Reconciliation } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';

/** How often a settled sale is reconciled (every other sale: every second). */
export const SETTLED_RECONCILE_MS = 10_000;

/**
 * docs/architecture.md#live-data, the HUD's live reconciliation of each sale: total stock (PostgreSQL) against
 * remaining + Σ quantity of open reservation records (one atomic Redis read) + Σ quantity of
 * live rows whose order has no open record (PostgreSQL, read after Redis). Read at most once a
 * second, beside the HUD's frames; a sale is flagged once they have disagreed for RECONCILE_FLAG_MS in a row, so the
 * moment between a reservation and its row (a few ms, both sides moving) never flags it.
 */
export class Reconciler {
  private readonly since = new Map<string, number>();
  /** Each sale's last reconciliation and when it was made. */
  private readonly at = new Map<string, { at: number; r: Reconciliation }>();
  private last: { at: number; bySale: Map<string, Reconciliation | null> } | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly d: {
      prisma: PrismaClient;
      scripts: OrderScripts;
      keysOf(saleId: string): SaleKeys;
    },
  ) {}

  /**
   * The last reconciliation, at once; a new one is started in the background when it is a
   * second old, so a HUD frame never waits for PostgreSQL. `rebuilding` sales (and any a store
   * cannot answer for) get null and start afresh.
   */
  read(
    saleIds: readonly string[],
    rebuilding: (saleId: string) => boolean,
    now: number,
    settled: (saleId: string) => boolean = () => false,
  ): Map<string, Reconciliation | null> {
    if (!this.running && (!this.last || now - this.last.at >= 1000)) {
      const ids = [...saleIds];
      this.running = this.refresh(ids, rebuilding, settled, now).finally(() => {
        this.running = null;
      });
    }
    return this.last?.bySale ?? new Map();
  }

  private async refresh(
    saleIds: string[],
    rebuilding: (saleId: string) => boolean,
    settled: (saleId: string) => boolean,
    now: number,
  ) {
    const bySale = new Map<string, Reconciliation | null>();
    for (const saleId of saleIds) {
      // A settled sale (ended, nothing in flight: hud-snapshot.ts) is summed again only every
      // SETTLED_RECONCILE_MS: its PostgreSQL sum covers every order it ever took.
      const before = this.at.get(saleId);
      if (settled(saleId) && before && now - before.at < SETTLED_RECONCILE_MS) {
        bySale.set(saleId, before.r);
        continue;
      }
      const r = rebuilding(saleId) ? null : await this.one(saleId, now).catch(() => null);
      if (!r) this.since.delete(saleId);
      if (r) this.at.set(saleId, { at: now, r });
      else this.at.delete(saleId);
      bySale.set(saleId, r);
    }
    for (const id of this.at.keys()) if (!bySale.has(id)) this.at.delete(id);
    this.last = { at: now, bySale };
  }

  private async one(saleId: string, now: number): Promise<Reconciliation | null> {
    const hot = await this.d.scripts.reconcileRead(this.d.keysOf(saleId));
    if (hot.remaining === null) return null;
    const rows = await this.d.prisma.$queryRaw<{ total: number; persisted: bigint | number | null }[]>`
      SELECT s.total_stock AS total,
        (SELECT coalesce(sum(o.quantity), 0) FROM orders o
          WHERE o.sale_id = s.id AND o.status IN ('PENDING', 'CONFIRMED')
            AND NOT (o.id = ANY(${hot.openIds}::text[]))) AS persisted
      FROM sales s WHERE s.id = ${saleId}`;
    const row = rows[0];
    if (!row) return null;
    const total = Number(row.total);
    const persisted = Number(row.persisted ?? 0);
    const difference = total - (hot.remaining + hot.held + persisted);
    if (difference === 0) this.since.delete(saleId);
    else if (!this.since.has(saleId)) this.since.set(saleId, now);
    const disagreeingMs = difference === 0 ? 0 : now - (this.since.get(saleId) ?? now);
    return {
      total,
      remaining: hot.remaining,
      held: hot.held,
      persisted,
      difference,
      disagreeingMs,
      flagged: disagreeingMs >= RECONCILE_FLAG_MS,
    };
  }
}
