import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pendingForSale } from '@surge/infra';
// Not `@surge/hot-state`: its index loads the .lua scripts, which tsx cannot import.
import { saleKeys } from '../../../packages/hot-state/src/keys.ts';
import { testRedis } from '../redis-client.ts';

/**
 * Waits until a sale is quiet — the state I2 (conservation) is judged in: no message of the sale
 * left in the stream (a work queue: acked messages are removed), no open reservation record,
 * no outbox entry. Throws after `timeoutMs`, saying what was still there.
 */
export async function waitForQuiet(o: {
  ns: string;
  saleId: string;
  redisUrl: string;
  natsUrl: string;
  timeoutMs?: number;
  stepMs?: number;
}): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const until = Date.now() + timeoutMs;
  const k = saleKeys(o.ns, o.saleId);
  const redis = testRedis(o.redisUrl);
  let nc: NatsConnection | null = null;
  let jsm: JetStreamManager | null = null;
  try {
    let last = '';
    for (;;) {
      try {
        nc ??= await connect({ servers: o.natsUrl, maxReconnectAttempts: -1, timeout: 2000 });
        jsm ??= await jetstreamManager(nc);
        const [inStream, open, outbox] = await Promise.all([
          pendingForSale(jsm, o.ns, o.saleId),
          redis.scard(k.open),
          redis.zcard(k.outbox),
        ]);
        if (inStream === 0 && open === 0 && outbox === 0) return;
        last = `${inStream} messages in the stream, ${open} open records, ${outbox} outbox entries`;
      } catch (err) {
        // the stream may not exist yet, a service may be restarting: not quiet yet
        last = String(err);
      }
      if (Date.now() > until)
        throw new Error(`${o.saleId} not drained within ${timeoutMs / 1000} s: ${last}`);
      await new Promise((r) => setTimeout(r, o.stepMs ?? 100));
    }
  } finally {
    redis.disconnect();
    await nc?.close().catch(() => undefined);
  }
}
