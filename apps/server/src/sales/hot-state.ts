import { type Sale, saleState } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';

/** The fields of a sale's `hot` hash in Redis, as strings (see lua/reserve-stock.lua). */
export interface SaleRow {
  id: string;
  name: string;
  priceCents: number;
  totalStock: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date;
  paused: boolean;
  epoch: number;
}

export function hotFields(row: SaleRow, remaining: number, ttlS: number): Record<string, string> {
  return {
    name: row.name,
    priceCents: String(row.priceCents),
    total: String(row.totalStock),
    remaining: String(remaining),
    limit: String(row.perUserLimit),
    startsMs: String(row.startsAt.getTime()),
    endsMs: String(row.endsAt.getTime()),
    paused: row.paused ? '1' : '0',
    epoch: String(row.epoch),
    expAt: String(expireAtSec(row.endsAt, ttlS)),
  };
}

/**
 * No key of a sale expires before endsAt + IDEMPOTENCY_TTL_S
 * (docs/architecture.md#expiry-and-eviction).
 */
export function expireAtSec(endsAt: Date, ttlS: number): number {
  return Math.ceil(endsAt.getTime() / 1000) + ttlS;
}

/** The one mapping from a sale's `hot` hash to a `Sale` (sale.get, live.sale and the HUD). */
export function saleFromHot(id: string, h: Record<string, string>, rebuilding: boolean, nowMs: number): Sale {
  const startsMs = Number(h.startsMs);
  const endsMs = Number(h.endsMs);
  const remaining = Math.max(0, Number(h.remaining));
  return {
    id,
    name: h.name ?? id,
    priceCents: Number(h.priceCents),
    totalStock: Number(h.total),
    remaining,
    perUserLimit: Number(h.limit),
    state: saleState({ nowMs, startsMs, endsMs, rebuilding, paused: h.paused === '1', remaining }),
    startsAt: new Date(startsMs).toISOString(),
    endsAt: new Date(endsMs).toISOString(),
    serverTime: new Date(nowMs).toISOString(),
  };
}

export function saleFromRow(row: SaleRow, remaining: number, rebuilding: boolean, nowMs: number): Sale {
  return saleFromHot(row.id, hotFields(row, remaining, 0), rebuilding, nowMs);
}

type Tx = Pick<PrismaClient, '$queryRaw'>;

/**
 * The sale row, locked FOR UPDATE for the rest of the caller's transaction: admin writes and
 * rebuilds serialise on it (docs/architecture.md#admin-writes); the worker's persist holds it FOR
 * SHARE.
 */
export async function lockSaleRow(tx: Tx, saleId: string): Promise<SaleRow | undefined> {
  const rows = await tx.$queryRaw<SaleRow[]>`
    SELECT id, name, price_cents AS "priceCents", total_stock AS "totalStock",
           per_user_limit AS "perUserLimit", starts_at AS "startsAt", ends_at AS "endsAt", paused, epoch
    FROM sales WHERE id = ${saleId} FOR UPDATE`;
  return rows[0];
}
