import type { HudFrame, LiveOrder, LiveSale } from '@surge/contracts';
import { TestClient } from '../tests/support/client.ts';
import { collect, trpcClient } from '../tests/support/trpc-client.ts';

/**
 * Needs a worker that never fails a payment: a failed one gives the unit back at once, and
 * the dip in stock can fall between two frames.
 *
 * How long a purchase takes to show: on the shop page (`live.sale` stock, `live.order`
 * final status) and on the HUD (`live.hud` stock), measured with the same SSE subscriptions
 * the pages use, on a quiet system after the load. Figures, not assertions.
 */
export interface LiveLatency {
  samples: number;
  toShopStockMs: number[];
  toHudStockMs: number[];
  toFinalStatusMs: number[];
}

export async function measureLiveLatency(o: {
  url: string;
  adminPassword: string;
  saleId: string;
  samples?: number;
}): Promise<LiveLatency> {
  const samples = o.samples ?? 8;
  const admin = new TestClient(o.url);
  await admin.loginAdmin(o.adminPassword);
  const shopper = new TestClient(o.url);
  await shopper.startSession();
  const shop = trpcClient(shopper);
  const sale = collect<unknown>((h) => shop.live.sale.subscribe({ saleId: o.saleId }, h));
  const hud = collect<unknown>((h) => trpcClient(admin).live.hud.subscribe(undefined, h));
  const out: LiveLatency = { samples, toShopStockMs: [], toHudStockMs: [], toFinalStatusMs: [] };
  try {
    await until(() => sale.frames.length > 0 && hud.frames.length > 0, 10_000);
    for (let i = 0; i < samples; i++) {
      const before = last<LiveSale>(sale.frames)?.remaining ?? 0;
      const started = performance.now();
      const placed = await shopper.mutate<{ orderId: string }>('order.place', {
        saleId: o.saleId,
        quantity: 1,
        idempotencyKey: `latency-${Date.now()}-${i}`,
      });
      const orderId = placed.body.result?.data.orderId;
      if (!orderId) throw new Error(`order.place: ${placed.status} ${JSON.stringify(placed.body)}`);
      const order = collect<unknown>((h) => shop.live.order.subscribe({ orderId }, h));
      const shopSeen = until(() => (last<LiveSale>(sale.frames)?.remaining ?? before) < before, 10_000).then(
        () => performance.now(),
      );
      const hudSeen = until(
        () =>
          (last<HudFrame>(hud.frames)?.sales.find((s) => s.id === o.saleId)?.remaining ?? before) < before,
        10_000,
      ).then(() => performance.now());
      const finalSeen = until(
        () => order.frames.some((f) => (f as { data: LiveOrder }).data.status !== 'PENDING'),
        15_000,
      ).then(() => performance.now());
      const [a, b, c] = await Promise.all([shopSeen, hudSeen, finalSeen]);
      order.stop();
      out.toShopStockMs.push(a - started);
      out.toHudStockMs.push(b - started);
      out.toFinalStatusMs.push(c - started);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    sale.stop();
    hud.stop();
  }
  return out;
}

export function latencyLines(l: LiveLatency): string[] {
  const stat = (v: number[]) => {
    const s = [...v].sort((x, y) => x - y);
    const median = s[Math.floor(s.length / 2)] ?? 0;
    return `median ${median.toFixed(0)} ms, max ${(s.at(-1) ?? 0).toFixed(0)} ms`;
  };
  return [
    `purchase → stock on the shop page (live.sale): ${stat(l.toShopStockMs)}`,
    `purchase → stock on the HUD (live.hud):        ${stat(l.toHudStockMs)}`,
    `purchase → final status on the shop page:      ${stat(l.toFinalStatusMs)} (includes the simulated payment)`,
    `(${l.samples} purchases, one at a time, on a quiet system; frames are sampled every 250 ms)`,
  ];
}

/** The payload of the newest tracked frame. */
function last<T>(frames: unknown[]): T | undefined {
  return (frames.at(-1) as { data: T } | undefined)?.data;
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error('live latency probe: no frame showed the purchase in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
