import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsNames } from '../../packages/contracts/src/messages.ts';
// Not `@surge/hot-state`: its index loads the .lua scripts, which tsx cannot import.
import { saleKeys } from '../../packages/hot-state/src/keys.ts';
import { testRedis } from '../support/redis-client.ts';

/**
 * Evidence for long rebuilds: every 2 s, for each sale whose rebuild flag has been up for 5 s or
 * more, what the rebuild waits on — open records, the sale's messages in the stream (first and
 * last sequence) against the consumer's ack floor, delivered and pending counts.
 */
export interface Stall {
  at: number;
  saleId: string;
  open: number | null;
  inStream: number | null;
  /** The stream's first sequence (any sale), and the last of this sale's messages. */
  firstSeq?: number;
  lastSeq?: number;
  ackFloor?: number;
  delivered?: number;
  numAckPending?: number;
  numPending?: number;
  error?: string;
}

export function watchStalls(o: {
  ns: string;
  redisUrl: string;
  natsUrl: string;
  saleIds: readonly string[];
  now: () => number;
  stopped: () => boolean;
}): { done: Promise<Stall[]> } {
  const stalls: Stall[] = [];
  const since = new Map<string, number>();
  const done = (async () => {
    const redis = testRedis(o.redisUrl, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    redis.on('error', () => undefined);
    let nc: NatsConnection | null = null;
    const n = natsNames(o.ns);
    try {
      while (!o.stopped()) {
        await new Promise((r) => setTimeout(r, 2000));
        for (const saleId of o.saleIds) {
          const flag = await redis.exists(saleKeys(o.ns, saleId).rebuild).catch(() => 0);
          if (flag === 0) {
            since.delete(saleId);
            continue;
          }
          const from = since.get(saleId) ?? o.now();
          since.set(saleId, from);
          if (o.now() - from < 5000) continue;
          const s: Stall = { at: Math.round(o.now()), saleId, open: null, inStream: null };
          try {
            s.open = await redis.scard(saleKeys(o.ns, saleId).open);
            nc ??= await connect({ servers: o.natsUrl.split(','), maxReconnectAttempts: -1, timeout: 1000 });
            const jsm = await jetstreamManager(nc, { timeout: 1000 });
            const subject = n.subjectOf(saleId);
            const info = await jsm.streams.info(n.stream, { subjects_filter: subject });
            s.inStream = info.state.subjects?.[subject] ?? 0;
            s.firstSeq = info.state.first_seq;
            if (s.inStream > 0)
              s.lastSeq = (await jsm.streams.getMessage(n.stream, { last_by_subj: subject }))?.seq;
            const c = await jsm.consumers.info(n.stream, n.consumer);
            s.ackFloor = c.ack_floor.stream_seq;
            s.delivered = c.delivered.stream_seq;
            s.numAckPending = c.num_ack_pending;
            s.numPending = c.num_pending;
          } catch (err) {
            s.error = String(err).slice(0, 200);
          }
          stalls.push(s);
        }
      }
    } finally {
      redis.disconnect();
      await nc?.close().catch(() => undefined);
    }
    return stalls;
  })();
  return { done };
}
