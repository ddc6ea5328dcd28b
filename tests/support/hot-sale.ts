import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import { hotFields, type SaleRow } from '../../apps/server/src/sales/hot-state.ts';

/** A sale row for tests that write hot state directly: started a minute ago, ends in an hour. */
export function saleRow(o: Partial<SaleRow> & { id: string }): SaleRow {
  const now = Date.now();
  return {
    name: o.id,
    priceCents: 100,
    totalStock: 10,
    perUserLimit: 3,
    startsAt: new Date(now - 60_000),
    endsAt: new Date(now + 3_600_000),
    paused: false,
    epoch: 1,
    queueAdmitPerSecond: null,
    queueTokenTtlS: null,
    queueOutstandingFactor: null,
    ...o,
  };
}

/**
 * Writes a sale's hot state as the rebuild does (write-hot-state.lua), with no users or orders:
 * its keys expire at the hot hash's `expAt` (the end plus `ttlS`).
 */
export async function writeSaleHot(
  scripts: OrderScripts,
  keys: SaleKeys,
  row: SaleRow,
  ttlS = 60,
): Promise<void> {
  const hot = hotFields(row, row.totalStock, ttlS);
  await scripts.writeHot(keys, { token: '', hot, users: {}, orders: [], expireAtSec: Number(hot.expAt) });
}
