import type { CreateSaleInput, Sale } from '@surge/contracts';
import { isUniqueViolation, type PrismaClient } from '@surge/db';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import { isRedisUnavailable } from '@surge/infra';
import type { Redis } from 'ioredis';
import { AppError, appError } from '../errors.ts';
import type { SaleCatalog } from './catalog.ts';
import { expireAtSec, hotFields, lockSaleRow, saleFromHot, saleFromRow } from './hot-state.ts';
import type { RebuildCoordinator } from './rebuild.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How stale `sale.list`'s view of which sales exist may be (sales created on another server). */
const LIST_REFRESH_MS = 1000;

type StoredSale = NonNullable<Awaited<ReturnType<PrismaClient['sale']['findUnique']>>>;

/**
 * Reading and administering sales (docs/architecture.md#admin-writes). Reads come from the hot
 * state in Redis; admin writes take the sale row FOR UPDATE and write PostgreSQL first, Redis
 * second. A create, a pause or a resume writes Redis inside its transaction, so a Redis that cannot
 * be written rolls it back. A restock commits first: when Redis then cannot be written, the commit
 * stands, the sale is flagged for a rebuild (which brings Redis up to the new total) and the answer
 * is STORE_UNAVAILABLE.
 */
export class SalesService {
  constructor(
    private readonly d: {
      prisma: PrismaClient;
      redis: Redis;
      scripts: OrderScripts;
      catalog: SaleCatalog;
      rebuild: RebuildCoordinator;
      keysOf(saleId: string): SaleKeys;
      idempotencyTtlS: number;
      /** Test-only fault hook between a restock's commit and its Redis write. */
      afterRestockCommit?: () => void;
    },
  ) {}

  /**
   * Ended sales whose count is final (no order pending): their row and remaining stock never
   * change again, so they are answered from memory (docs/architecture.md#reading-sales-and-orders).
   */
  private readonly finals = new Map<string, { row: StoredSale; remaining: number }>();

  async get(saleId: string): Promise<Sale> {
    if (!(await this.d.catalog.exists(saleId))) throw appError('SALE_NOT_FOUND');
    const k = this.d.keysOf(saleId);
    const [[, hot], [, flag], [, time], [, cursor], [, line]] = (await this.d.redis
      .multi()
      .hgetall(k.hot)
      .exists(k.rebuild)
      .time()
      .hget(k.qTix, '#cursor')
      .zcard(k.qLine)
      .exec()
      .catch((err: unknown) => {
        throw appError('STORE_UNAVAILABLE', { retryAfterMs: 1000 }, err);
      })) as [
      [null, Record<string, string>],
      [null, number],
      [null, [string, string]],
      [null, string | null],
      [null, number],
    ];
    const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const room = { admitted: Number(cursor ?? 0), lineLength: line };
    if (hot.remaining !== undefined) return saleFromHot(saleId, hot, flag === 1, nowMs, room);
    // No hot state: rebuilding; show what PostgreSQL says until it is back.
    this.d.rebuild.request(saleId);
    return this.fromDatabase(saleId, nowMs);
  }

  async list(): Promise<Sale[]> {
    await this.d.catalog.fresh(LIST_REFRESH_MS);
    const sales = await Promise.all(this.d.catalog.ids().map((id) => this.get(id).catch(() => null)));
    return sales.filter((s): s is Sale => s !== null).sort((a, b) => a.startsAt.localeCompare(b.startsAt));
  }

  /**
   * A sale without hot state: rebuilding, or ended long enough ago that its keys expired
   * (`IDEMPOTENCY_TTL_S` after its end). Such a settled sale's count is summed over its orders
   * once: when none is pending it is final, stored in `sales.final_remaining` for every server
   * and kept in memory here (issue 10 H2). An ended sale whose keys went early (Redis lost
   * them) may still have messages in the stream: it is summed on each read, as before.
   */
  private async fromDatabase(saleId: string, nowMs: number): Promise<Sale> {
    const final = this.finals.get(saleId);
    if (final) return saleFromRow(final.row, final.remaining, false, nowMs);
    const row = await this.d.prisma.sale.findUnique({ where: { id: saleId } });
    if (!row) throw appError('SALE_NOT_FOUND');
    const ended = nowMs >= row.endsAt.getTime();
    const settled = nowMs >= row.endsAt.getTime() + this.d.idempotencyTtlS * 1000;
    if (ended && row.finalRemaining !== null) {
      this.finals.set(saleId, { row, remaining: row.finalRemaining });
      return saleFromRow(row, row.finalRemaining, false, nowMs);
    }
    const live = await this.d.prisma.order.groupBy({
      by: ['status'],
      where: { saleId, status: { in: ['PENDING', 'CONFIRMED'] } },
      _sum: { quantity: true },
    });
    const remaining = row.totalStock - live.reduce((sum, g) => sum + (g._sum.quantity ?? 0), 0);
    if (settled && !live.some((g) => g.status === 'PENDING')) {
      // Final: no restock after the end, no message left from before it, and no pending order
      // left to fail and give stock back.
      await this.d.prisma.sale.updateMany({
        where: { id: saleId, finalRemaining: null },
        data: { finalRemaining: remaining },
      });
      this.finals.set(saleId, { row: { ...row, finalRemaining: remaining }, remaining });
      return saleFromRow(row, remaining, false, nowMs);
    }
    return saleFromRow(row, remaining, true, nowMs);
  }

  async create(input: CreateSaleInput): Promise<Sale> {
    const startsAt = input.startsAt ? new Date(input.startsAt) : new Date();
    const endsAt = input.endsAt ? new Date(input.endsAt) : new Date(startsAt.getTime() + DAY_MS);
    if (endsAt <= startsAt) {
      throw new AppError('VALIDATION', 'endsAt must be after startsAt', {
        fieldErrors: { endsAt: ['endsAt must be after startsAt'] },
      });
    }
    try {
      await this.d.prisma.$transaction(async (tx) => {
        const row = await tx.sale.create({
          data: {
            id: input.id,
            name: input.name,
            priceCents: input.priceCents,
            totalStock: input.totalStock,
            perUserLimit: input.perUserLimit,
            startsAt,
            endsAt,
            queueAdmitPerSecond: input.queue?.admitPerSecond ?? null,
            queueTokenTtlS: input.queue?.tokenTtlS ?? null,
            queueOutstandingFactor: input.queue?.outstandingFactor ?? null,
          },
        });
        await this.d.scripts.writeHot(this.d.keysOf(row.id), {
          token: '',
          hot: hotFields(row, row.totalStock, this.d.idempotencyTtlS),
          users: {},
          orders: [],
          expireAtSec: expireAtSec(row.endsAt, this.d.idempotencyTtlS),
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw appError('SALE_EXISTS');
      throw storeOrRethrow(err);
    }
    this.d.catalog.add(input.id, endsAt, input.queue !== undefined);
    return this.get(input.id);
  }

  pause(saleId: string): Promise<Sale> {
    return this.setPaused(saleId, true);
  }

  resume(saleId: string): Promise<Sale> {
    return this.setPaused(saleId, false);
  }

  /**
   * PostgreSQL first and committed, then Redis to the new absolute total: a process dying in
   * between leaves Redis selling less than it may (never more), until the next rebuild.
   */
  async restock(saleId: string, quantity: number): Promise<Sale> {
    const k = this.d.keysOf(saleId);
    let total = 0;
    try {
      await this.d.prisma.$transaction(async (tx) => {
        const row = await lockSaleRow(tx, saleId);
        if (!row) throw appError('SALE_NOT_FOUND');
        if (row.endsAt.getTime() <= Date.now()) throw appError('SALE_ENDED');
        // A rebuild recomputes remaining from the total; a restock waits for it.
        const [hot, flag] = await Promise.all([this.d.redis.exists(k.hot), this.d.redis.exists(k.rebuild)]);
        if (hot === 0 || flag === 1) {
          this.d.rebuild.request(saleId);
          throw appError('SALE_REBUILDING', { retryAfterMs: 1000 });
        }
        const updated = await tx.$queryRaw<{ total: number }[]>`
          UPDATE sales SET total_stock = total_stock + ${quantity}, updated_at = now()
          WHERE id = ${saleId} RETURNING total_stock AS total`;
        total = updated[0]?.total ?? 0;
      });
    } catch (err) {
      throw storeOrRethrow(err);
    }
    // A crash right here leaves PostgreSQL's total ahead of Redis's: every server's sweep loop
    // repairs it (reconcileTotals in sweep-loop.ts), as the new total is absolute.
    this.d.afterRestockCommit?.();
    try {
      // 'REBUILDING' / 'MISSING' here: a rebuild started meanwhile and reads the new total.
      await this.d.scripts.adminUpdate(k, 'restock', total);
    } catch (err) {
      await this.d.redis.set(k.rebuild, '1').catch(() => undefined);
      throw storeOrRethrow(err);
    }
    return this.get(saleId);
  }

  /**
   * `admin.setAdmission` (docs/architecture.md#the-waiting-room): the waiting room's admissions per second, 0 holding
   * admission. PostgreSQL first under the row lock, then the hot hash, as pause does.
   */
  async setAdmission(saleId: string, admitPerSecond: number): Promise<Sale> {
    try {
      await this.d.prisma.$transaction(async (tx) => {
        const row = await lockSaleRow(tx, saleId);
        if (!row) throw appError('SALE_NOT_FOUND');
        if (row.queueAdmitPerSecond === null) throw appError('SALE_NOT_QUEUED');
        await tx.$executeRaw`UPDATE sales SET queue_admit_per_second = ${admitPerSecond}, updated_at = now()
          WHERE id = ${saleId}`;
        const r = await this.d.scripts.adminUpdate(this.d.keysOf(saleId), 'rate', admitPerSecond);
        if (r === 'MISSING') this.d.rebuild.request(saleId);
      });
    } catch (err) {
      throw storeOrRethrow(err);
    }
    return this.get(saleId);
  }

  /** Pause and resume take the row lock and write Redis under it, so a rebuild cannot interleave. */
  private async setPaused(saleId: string, paused: boolean): Promise<Sale> {
    try {
      await this.d.prisma.$transaction(async (tx) => {
        if (!(await lockSaleRow(tx, saleId))) throw appError('SALE_NOT_FOUND');
        await tx.$executeRaw`UPDATE sales SET paused = ${paused}, updated_at = now() WHERE id = ${saleId}`;
        const r = await this.d.scripts.adminUpdate(this.d.keysOf(saleId), paused ? 'pause' : 'resume');
        // 'MISSING': PostgreSQL holds the flag; the rebuild will read it.
        if (r === 'MISSING') this.d.rebuild.request(saleId);
      });
    } catch (err) {
      throw storeOrRethrow(err);
    }
    return this.get(saleId);
  }
}

function storeOrRethrow(err: unknown): unknown {
  if (err instanceof AppError || !isRedisUnavailable(err)) return err;
  return appError('STORE_UNAVAILABLE', { retryAfterMs: 1000 }, err);
}
