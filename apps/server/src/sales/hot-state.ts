import { type Sale, saleState } from '@surge/contracts';

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

/** SPEC §4 step 8: no key of a sale expires before endsAt + IDEMPOTENCY_TTL_S. */
export function expireAtSec(endsAt: Date, ttlS: number): number {
  return Math.ceil(endsAt.getTime() / 1000) + ttlS;
}

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
  return saleFromHot(id(row), hotFields(row, remaining, 0), rebuilding, nowMs);
}
const id = (row: SaleRow) => row.id;
