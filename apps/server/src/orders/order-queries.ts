import type { OrderStatus, OrderView } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';
import { parseRecord, type ReservationRecord, type SaleKeys } from '@surge/hot-state';
import type { Redis } from 'ioredis';
import { appError } from '../errors.ts';

/**
 * `order.get` and `order.mine`: rows from PostgreSQL plus the reservations still in flight
 * in Redis (accepted orders the worker has not persisted yet). Another user's order is
 * reported as not found, never as forbidden, so order ids cannot be probed.
 */
export class OrderQueries {
  constructor(
    private readonly d: {
      prisma: PrismaClient;
      redis: Redis;
      keysOf(saleId: string): SaleKeys;
      saleIds(): string[];
    },
  ) {}

  /**
   * Redis first (the reservation record carries the live status, kept until the sale's keys
   * expire), PostgreSQL for everything else — and for a failure's reason.
   */
  async get(orderId: string, userId: string | null): Promise<OrderView> {
    const hit = await this.fromRedis(orderId).catch(() => null);
    // Records rebuilt from PostgreSQL carry no reservation time: read those from the row.
    if (hit && hit.r.ts !== undefined && (userId === null || hit.r.u === userId)) {
      const status = hit.r.s === 'done' ? (hit.r.st ?? 'PENDING') : 'PENDING';
      if (status === 'PENDING' || status === 'CONFIRMED')
        return fromRecord(orderId, hit.saleId, hit.r, status);
    }
    const row = await this.d.prisma.order.findUnique({ where: { id: orderId } });
    if (!row || (userId !== null && row.userId !== userId)) throw appError('ORDER_NOT_FOUND');
    return fromRow(row);
  }

  private async fromRedis(orderId: string): Promise<{ saleId: string; r: ReservationRecord } | null> {
    const sales = this.d.saleIds();
    if (sales.length === 0) return null;
    // One command per sale, not a pipeline: on Redis Cluster the sales live on several shards.
    const replies = await Promise.all(sales.map((s) => this.d.redis.hget(this.d.keysOf(s).res, orderId)));
    for (const [i, raw] of replies.entries()) {
      const saleId = sales[i];
      if (typeof raw !== 'string' || !saleId) continue;
      const r = parseRecord(raw);
      // A released reservation never became an order.
      if (r.s !== 'released') return { saleId, r };
    }
    return null;
  }

  /**
   * The caller's rows, plus their reservations still in flight — read from their own index
   * (`open:<userId>` in the sale's users hash, kept by the Lua steps), never from the sale's
   * whole backlog: the cost does not grow with other users' orders (README.md#security).
   */
  async mine(userId: string, saleId?: string): Promise<OrderView[]> {
    const rows = await this.d.prisma.order.findMany({
      where: { userId, ...(saleId ? { saleId } : {}) },
      orderBy: { createdAt: 'desc' },
      take: 200,
    });
    const seen = new Set(rows.map((r) => r.id));
    const views = rows.map(fromRow);
    const sales = saleId ? [saleId] : this.d.saleIds();
    if (sales.length === 0) return views;
    const indexes = await this.d.redis
      .pipeline(sales.map((s) => ['hget', this.d.keysOf(s).users, `open:${userId}`]))
      .exec();
    const wanted = sales.flatMap((s, i) => {
      const raw = indexes?.[i]?.[1];
      const ids = typeof raw === 'string' ? raw.split(' ').filter((id) => id && !seen.has(id)) : [];
      return ids.length > 0 ? [{ saleId: s, ids }] : [];
    });
    if (wanted.length === 0) return views.sort(newestFirst);
    const records = await this.d.redis
      .pipeline(wanted.map((w) => ['hmget', this.d.keysOf(w.saleId).res, ...w.ids]))
      .exec();
    wanted.forEach((w, i) => {
      const raws = (records?.[i]?.[1] ?? []) as (string | null)[];
      raws.forEach((raw, j) => {
        const id = w.ids[j];
        if (!raw || !id) return;
        const r = parseRecord(raw);
        if (r.u === userId && (r.s === 'reserved' || r.s === 'published'))
          views.push(fromRecord(id, w.saleId, r));
      });
    });
    return views.sort(newestFirst);
  }
}

const newestFirst = (a: OrderView, b: OrderView) => b.createdAt.localeCompare(a.createdAt);

function fromRow(row: {
  id: string;
  saleId: string;
  quantity: number;
  status: string;
  failureReason: string | null;
  createdAt: Date;
}): OrderView {
  return {
    orderId: row.id,
    saleId: row.saleId,
    quantity: row.quantity,
    status: row.status as OrderStatus,
    ...(row.failureReason ? { failureReason: row.failureReason } : {}),
    createdAt: row.createdAt.toISOString(),
  };
}

function fromRecord(
  orderId: string,
  saleId: string,
  r: ReservationRecord,
  status: OrderStatus = 'PENDING',
): OrderView {
  return {
    orderId,
    saleId,
    quantity: r.q,
    status,
    createdAt: new Date(r.ts ?? Date.now()).toISOString(),
  };
}
