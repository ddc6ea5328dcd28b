import type { PrismaClient } from '@surge/db';

const SELECT = { id: true, endsAt: true, totalStock: true, queueAdmitPerSecond: true } as const;

/**
 * Which sales exist. Known ids are kept in memory so `order.place` answers SALE_NOT_FOUND
 * without a database round trip on the hot path; an unknown id is looked up in PostgreSQL
 * (a sale created through another server) and a miss is remembered briefly so random ids
 * cannot flood the database.
 */
export class SaleCatalog {
  /** Known sale ids, when each ends (ms), and whether it has a waiting room (docs/architecture.md#the-waiting-room). */
  private readonly known = new Map<string, { endsMs: number; queued: boolean }>();
  /** Each sale's total stock as PostgreSQL said at the last refresh. */
  private readonly totals = new Map<string, number>();
  private readonly misses = new Map<string, number>();
  /** When the last refresh() finished (ms), and the one in flight. */
  private refreshedAt = 0;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly missTtlMs = 1000,
  ) {}

  ids(): string[] {
    return [...this.known.keys()];
  }

  add(id: string, endsAt: Date, queued: boolean): void {
    this.known.set(id, { endsMs: endsAt.getTime(), queued });
    this.misses.delete(id);
  }

  /** Whether the sale has ended (by this process's clock; only used to stop rebuilding it). */
  ended(id: string, nowMs = Date.now()): boolean {
    const ends = this.known.get(id)?.endsMs;
    return ends !== undefined && nowMs >= ends;
  }

  /** Whether a known sale is queued (docs/architecture.md#the-waiting-room); undefined for a sale this process does not know yet. */
  queued(id: string): boolean | undefined {
    return this.known.get(id)?.queued;
  }

  /** Queued sales that have not ended: the admission clock's work. */
  openQueuedIds(nowMs = Date.now()): string[] {
    return [...this.known].filter(([, s]) => s.queued && nowMs < s.endsMs).map(([id]) => id);
  }

  async refresh(): Promise<void> {
    const rows = await this.prisma.sale.findMany({ select: SELECT });
    for (const r of rows) {
      this.add(r.id, r.endsAt, r.queueAdmitPerSecond !== null);
      this.totals.set(r.id, r.totalStock);
    }
    this.refreshedAt = Date.now();
  }

  /**
   * `refresh()` unless one finished within `maxAgeMs`, sharing one in flight: what `sale.list`
   * reads, so a flood of calls costs PostgreSQL one query per `maxAgeMs` per server (issue 10
   * H2), and a sale created through another server shows within it.
   */
  fresh(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.refreshedAt < maxAgeMs) return Promise.resolve();
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** The total stock PostgreSQL held at the last `refresh()` (undefined before one). */
  total(id: string): number | undefined {
    return this.totals.get(id);
  }

  exists(id: string): boolean | Promise<boolean> {
    if (this.known.has(id)) return true;
    const miss = this.misses.get(id);
    if (miss !== undefined && miss > Date.now()) return false;
    return this.prisma.sale.findUnique({ where: { id }, select: SELECT }).then((row) => {
      if (row) this.add(id, row.endsAt, row.queueAdmitPerSecond !== null);
      else {
        if (this.misses.size > 10_000) this.misses.clear();
        this.misses.set(id, Date.now() + this.missTtlMs);
      }
      return row !== null;
    });
  }
}
