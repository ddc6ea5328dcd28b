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
    },
  ) {}

  async get(saleId: string): Promise<Sale> {
    if (!(await this.d.catalog.exists(saleId))) throw appError('SALE_NOT_FOUND');
    const k = this.d.keysOf(saleId);
    const [[, hot], [, flag], [, time]] = (await this.d.redis
      .multi()
      .hgetall(k.hot)
      .exists(k.rebuild)
      .time()
      .exec()
      .catch((err: unknown) => {
        throw appError('STORE_UNAVAILABLE', { retryAfterMs: 1000 }, err);
      })) as [[null, Record<string, string>], [null, number], [null, [string, string]]];
    const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    if (hot.remaining !== undefined) return saleFromHot(saleId, hot, flag === 1, nowMs);
    // No hot state: rebuilding; show what PostgreSQL says until it is back.
    this.d.rebuild.request(saleId);
    return this.fromDatabase(saleId, nowMs);
  }

  async list(): Promise<Sale[]> {
    await this.d.catalog.refresh();
    const sales = await Promise.all(this.d.catalog.ids().map((id) => this.get(id).catch(() => null)));
    return sales.filter((s): s is Sale => s !== null).sort((a, b) => a.startsAt.localeCompare(b.startsAt));
  }

  private async fromDatabase(saleId: string, nowMs: number): Promise<Sale> {
    const row = await this.d.prisma.sale.findUnique({ where: { id: saleId } });
    if (!row) throw appError('SALE_NOT_FOUND');
    const live = await this.d.prisma.order.aggregate({
      where: { saleId, status: { in: ['PENDING', 'CONFIRMED'] } },
      _sum: { quantity: true },
    });
    return saleFromRow(row, row.totalStock - (live._sum.quantity ?? 0), true, nowMs);
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
    this.d.catalog.add(input.id, endsAt);
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
    try {
      // 'REBUILDING' / 'MISSING' here: a rebuild started meanwhile and reads the new total.
      await this.d.scripts.adminUpdate(k, 'restock', total);
    } catch (err) {
      await this.d.redis.set(k.rebuild, '1').catch(() => undefined);
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
