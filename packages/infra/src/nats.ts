import {
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsNames } from '@surge/contracts';
import type { Logger } from './logger.ts';

/**
 * One NATS connection per process, with its live state: the order path must know *now*
 * whether NATS is reachable (SPEC §4 step 1: replay-only mode while it is not), without a
 * round trip per request.
 */
export interface NatsHandle {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  isConnected(): boolean;
  close(): Promise<void>;
}

export async function connectNats(url: string, name: string, log: Logger): Promise<NatsHandle> {
  const nc = await connect({
    servers: url.split(','),
    name,
    // The default gives up after ~20 s; a server or worker must outlive any NATS outage.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5000,
  });
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        log.warn({ event: 'nats.disconnect' }, 'NATS connection lost');
      } else if (s.type === 'reconnect') {
        connected = true;
        log.info({ event: 'nats.reconnect' }, 'NATS connection restored');
      }
    }
  })().catch(() => undefined);
  const js = jetstream(nc, { timeout: 2000 });
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  return {
    nc,
    js,
    jsm,
    isConnected: () => connected && !nc.isClosed(),
    close: async () => {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}

/**
 * The orders stream of a namespace: a work queue (a message lives until the worker acks or
 * terminates it), `discard: new` so a full stream refuses new orders instead of deleting
 * unconsumed ones, bounded bytes, and a duplicate window for `msgID` de-duplication.
 */
export async function ensureOrdersStream(
  jsm: JetStreamManager,
  opts: { namespace: string; maxBytes: number; replicas: number },
): Promise<void> {
  const n = natsNames(opts.namespace);
  const config = {
    name: n.stream,
    subjects: [n.subjectAll],
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
    storage: StorageType.File,
    max_bytes: opts.maxBytes,
    num_replicas: opts.replicas,
    duplicate_window: 2 * 60 * 1_000_000_000,
  };
  try {
    await jsm.streams.info(n.stream);
    await jsm.streams.update(n.stream, config);
  } catch (err) {
    if ((err as { name?: string }).name !== 'StreamNotFoundError') throw err;
    await jsm.streams.add(config);
  }
}

/** Messages of one sale still in the stream (SPEC §4 step 7's wait; per-subject counts). */
export async function pendingForSale(
  jsm: JetStreamManager,
  namespace: string,
  saleId: string,
): Promise<number> {
  const n = natsNames(namespace);
  const subject = n.subjectOf(saleId);
  const info = await jsm.streams.info(n.stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}
