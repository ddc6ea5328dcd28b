import type { TestClient } from './client.ts';
import { eventually } from './services.ts';

/** A server's /readyz: its status and body (the breaker, NATS). */
export async function readyz(url: string) {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as { ready: boolean; breaker: string; nats: string } };
}

/**
 * Places new orders (fresh keys) every 100 ms until one is accepted; returns its answer. The
 * recovery tests time "cause gone → first accepted order" with it.
 */
export async function firstAccepted(client: TestClient, saleId: string, tag: string, timeoutMs: number) {
  let i = 0;
  return eventually(
    async () => {
      const a = await client.mutate('order.place', {
        saleId,
        quantity: 1,
        idempotencyKey: `${tag}-probe-${i++}`,
      });
      return a.status === 200 ? a : null;
    },
    timeoutMs,
    100,
  );
}
