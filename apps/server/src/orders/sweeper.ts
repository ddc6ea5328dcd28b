import { randomUUID } from 'node:crypto';
import type { OrderMessage } from '@surge/contracts';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import type { Logger } from '@surge/infra';
import type { Redis } from 'ioredis';
import { isAppError } from '../errors.ts';
import { orderMessageOfRecord } from './order-message.ts';
import { settle } from './place-order.ts';
import type { PublishOutcome } from './publisher.ts';

/**
 * docs/architecture.md#the-outbox-and-the-sweeper: every server settles the outbox entries whose
 * lease expired (their server died or stalled between reserve and publish). Taking the lease is a
 * compare-and-set, so one process settles each record; re-publishing with the same `msgID` is
 * de-duplicated by JetStream if the first attempt was stored after all.
 */
export interface SweepDeps {
  redis: Redis;
  scripts: OrderScripts;
  leaseMs: number;
  keysOf(saleId: string): SaleKeys;
  /** The publish of a taken reservation: never held back by the breaker (publisher.ts). */
  publish(msg: OrderMessage, opts?: { msgId?: string; replayGen?: number }): Promise<PublishOutcome>;
  natsConnected(): boolean;
  log: Logger;
  onSettled?: (saleId: string, outcome: string) => void;
}

export async function sweepSale(deps: SweepDeps, saleId: string, batch = 100): Promise<number> {
  const k = deps.keysOf(saleId);
  const due = await deps.redis.zrangebyscore(k.outbox, '-inf', Date.now(), 'LIMIT', 0, batch);
  let settled = 0;
  for (const orderId of due) {
    // While NATS is not connected nothing can be learnt: leave the lease to expire again later.
    // An open breaker does not stop the sweep: a reservation is settled whatever it says.
    if (!deps.natsConnected()) break;
    const token = randomUUID();
    const r = await deps.scripts.takeLease(k, orderId, token, deps.leaseMs);
    if (!r) continue;
    const out = orderMessageOfRecord(saleId, orderId, r);
    const outcome = await deps.publish(out.msg, out.opts);
    const result = await settle(
      {
        markPublished: (kk, id) => deps.scripts.markPublished(kk, id),
        release: (kk, id, t) => deps.scripts.release(kk, id, t),
        retryAfterMs: 0,
      },
      k,
      { orderId, token, correlationId: r.c },
      outcome,
    ).then(
      () => 'published',
      (err: unknown) => (isAppError(err) ? err.reason : 'error'),
    );
    deps.log.info(
      { orderId, saleId, correlationId: r.c, outcome: result },
      'sweeper settled an orphan reservation',
    );
    deps.onSettled?.(saleId, result);
    settled++;
    // No answer within the deadline: the stream is stalled; the next tick tries again rather
    // than spending a whole deadline on every due entry now.
    if (outcome.kind === 'unknown') break;
  }
  return settled;
}
