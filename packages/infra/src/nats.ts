import {
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsNames } from '@surge/contracts';
import type { Logger } from './logger.ts';

/**
 * One NATS connection per process, with its live state: the order path must know *now* whether NATS
 * is reachable (replay-only mode while it is not, docs/architecture.md#reserve), without a round
 * trip per request.
 */
export interface NatsHandle {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  isConnected(): boolean;
  /** Called on every disconnect (`false`) and reconnect (`true`), from the one status loop. */
  onConnectionChange(listener: (connected: boolean) => void): void;
  close(): Promise<void>;
}

/**
 * NATS_URL's seeds and the credentials they carry (README.md#security: credentials travel in the URLs):
 * `nats://user:pass@host:port` → user + pass, `nats://token@host:port` → token. The client
 * is given them as options and the seeds without them, so they never show in its server list.
 */
export function natsConnectOptions(url: string): {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
} {
  const out: { servers: string[]; user?: string; pass?: string; token?: string } = { servers: [] };
  for (const raw of url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const withScheme = raw.includes('://') ? raw : `nats://${raw}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      out.servers.push(raw);
      continue;
    }
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    if (user && pass) Object.assign(out, { user, pass });
    else if (user) out.token = user;
    u.username = '';
    u.password = '';
    out.servers.push(`${u.protocol}//${u.host}`);
  }
  return out;
}

export async function connectNats(url: string, name: string, log: Logger): Promise<NatsHandle> {
  const nc = await connect({
    ...natsConnectOptions(url),
    name,
    // The default gives up after ~20 s; a server or worker must outlive any NATS outage.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5000,
    // No async stack trace captured for every request (each publish awaits a PubAck through one):
    // two Error objects with their stacks per order, ~4 % of the server's CPU under load
    // (docs/benchmarks.md). An error still carries its own stack from inside nats.js.
    noAsyncTraces: true,
  });
  let connected = true;
  const listeners: ((connected: boolean) => void)[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        log.warn({ event: 'nats.disconnect' }, 'NATS connection lost');
      } else if (s.type === 'reconnect') {
        connected = true;
        log.info({ event: 'nats.reconnect' }, 'NATS connection restored');
      } else continue;
      for (const listener of listeners) {
        try {
          listener(connected);
        } catch (err) {
          log.error({ err }, 'NATS connection listener failed');
        }
      }
    }
  })().catch(() => undefined);
  const js = jetstream(nc, { timeout: 2000 });
  // No API check here: on a JetStream cluster still electing its meta leader it would fail
  // the start; the declarations that follow retry until JetStream answers. The API timeout
  // leaves room for an R3 stream's placement.
  const jsm = await jetstreamManager(nc, { timeout: 10_000, checkAPI: false });
  return {
    nc,
    js,
    jsm,
    isConnected: () => connected && !nc.isClosed(),
    onConnectionChange: (listener) => void listeners.push(listener),
    close: async () => {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}

export interface DeclareOptions {
  /** How long to keep trying while the JetStream cluster is not ready (fresh R3 placement). */
  timeoutMs?: number;
  log?: Logger;
}

/**
 * The orders stream of a namespace: a work queue (a message lives until the worker acks or
 * terminates it), `discard: new` so a full stream refuses new orders instead of deleting
 * unconsumed ones, bounded bytes, and a duplicate window for `msgID` de-duplication.
 *
 * Every server and worker declares it at start, often at the same moment and on a JetStream
 * cluster still electing its leaders, so the declaration is create-or-verify and retried:
 * a process that finds a matching stream goes on; one that loses the race to create it
 * verifies the winner's; timeouts, "no responders" and "temporarily unavailable" are retried
 * with backoff until `timeoutMs`. Limits that may change (bytes, replicas, duplicate window,
 * discard, subjects) are updated; a stream whose retention or storage differs cannot be
 * updated in place and is reported with what differs.
 */
export async function ensureOrdersStream(
  jsm: JetStreamManager,
  opts: { namespace: string; maxBytes: number; replicas: number } & DeclareOptions,
): Promise<'created' | 'verified' | 'updated'> {
  const n = natsNames(opts.namespace);
  const want: OrdersStreamConfig = {
    name: n.stream,
    subjects: [n.subjectAll],
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
    storage: StorageType.File,
    max_bytes: opts.maxBytes,
    num_replicas: opts.replicas,
    duplicate_window: 2 * 60 * 1_000_000_000,
  };
  return retryDeclaration(`stream ${n.stream}`, opts, async () => {
    const current = await jsm.streams.info(n.stream).catch((err: unknown) => {
      if ((err as Error).name === 'StreamNotFoundError') return null;
      throw err;
    });
    if (!current) {
      await jsm.streams.add(want);
      return 'created';
    }
    const diff = streamDiff(current.config, want);
    if (diff.fixed.length > 0) throw new StreamConfigMismatch(n.stream, diff.fixed);
    if (diff.changed.length === 0) return 'verified';
    opts.log?.info({ stream: n.stream, changed: diff.changed }, 'updating the orders stream');
    await jsm.streams.update(n.stream, {
      subjects: want.subjects,
      discard: want.discard,
      max_bytes: want.max_bytes,
      num_replicas: want.num_replicas,
      duplicate_window: want.duplicate_window,
    });
    return 'updated';
  });
}

type OrdersStreamConfig = Pick<
  StreamConfig,
  | 'name'
  | 'subjects'
  | 'retention'
  | 'discard'
  | 'storage'
  | 'max_bytes'
  | 'num_replicas'
  | 'duplicate_window'
>;

export interface ConfigDifference {
  field: string;
  current: unknown;
  wanted: unknown;
}

/** What differs between a stream's configuration and the one wanted, split by "can be updated". */
export function streamDiff(
  current: Partial<OrdersStreamConfig>,
  want: OrdersStreamConfig,
): { fixed: ConfigDifference[]; changed: ConfigDifference[] } {
  const fixed: ConfigDifference[] = [];
  const changed: ConfigDifference[] = [];
  const cmp = (field: keyof OrdersStreamConfig, into: ConfigDifference[]) => {
    const a = current[field];
    const b = want[field];
    if (
      JSON.stringify(Array.isArray(a) ? [...a].sort() : a) !==
      JSON.stringify(Array.isArray(b) ? [...b].sort() : b)
    )
      into.push({ field, current: a, wanted: b });
  };
  cmp('retention', fixed);
  cmp('storage', fixed);
  for (const f of ['subjects', 'discard', 'max_bytes', 'num_replicas', 'duplicate_window'] as const)
    cmp(f, changed);
  return { fixed, changed };
}

export class StreamConfigMismatch extends Error {
  override name = 'StreamConfigMismatch';
  constructor(
    stream: string,
    readonly differences: ConfigDifference[],
  ) {
    super(
      `stream ${stream} exists with a configuration that cannot be updated in place: ${differences
        .map((d) => `${d.field} is ${JSON.stringify(d.current)}, wanted ${JSON.stringify(d.wanted)}`)
        .join('; ')} (delete the stream once it is drained, or use another SURGE_NAMESPACE)`,
    );
  }
}

/** JetStream API codes worth another try during a declaration (a cluster settling, a race). */
const RETRY_API_CODES = new Set([
  10008, // JetStream system temporarily unavailable (no meta leader yet)
  10023, // insufficient resources (peers still joining a fresh cluster)
  10058, // stream name already in use: another process created it a moment ago; verify it
  10148, // consumer already exists (likewise, for the consumer)
]);

/** Whether a declaration failure is worth another try: the cluster settling, a race lost. */
export function isTransientDeclareError(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; status?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'NoRespondersError' || e.name === 'RequestError') return true;
  if (e.name === 'JetStreamNotEnabled') return true;
  if (
    e.name === 'JetStreamApiError' ||
    e.name === 'StreamNotFoundError' ||
    e.name === 'ConsumerNotFoundError'
  ) {
    return RETRY_API_CODES.has(Number(e.code)) || Number(e.status) === 503 || Number(e.status) === 408;
  }
  return false;
}

/** Runs a create-or-verify step until it succeeds, fails for good, or `timeoutMs` passes. */
export async function retryDeclaration<T>(
  what: string,
  opts: DeclareOptions,
  step: () => Promise<T>,
): Promise<T> {
  const until = Date.now() + (opts.timeoutMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isTransientDeclareError(err) || Date.now() > until) throw err;
      opts.log?.warn({ err, attempt, what }, `declaring ${what}: retrying`);
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000)));
    }
  }
}

/**
 * Messages of one sale still in the stream (the rebuild's wait, docs/architecture.md#the-rebuild;
 * per-subject counts).
 *
 * The orders stream is a work queue: a message is removed when it is acknowledged. After a
 * `kill -9` of NATS the file store can bring back messages whose removal had not reached the
 * disk while the consumer's ack floor (stored apart) is already past them: nobody will ever be
 * delivered them again, and a rebuild waiting for the subject to empty would wait forever
 * (found by the fault run: two CONFIRMED orders' messages left behind by a NATS kill -9). Every
 * message at or below the ack floor has been acknowledged, so they are purged, then counted.
 */
export async function pendingForSale(
  jsm: JetStreamManager,
  namespace: string,
  saleId: string,
): Promise<number> {
  const n = natsNames(namespace);
  const subject = n.subjectOf(saleId);
  const info = await jsm.streams.info(n.stream, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return 0;
  const floor = await jsm.consumers.info(n.stream, n.consumer).then(
    (c) => c.ack_floor.stream_seq,
    () => 0, // no consumer yet: nothing was acknowledged
  );
  if (floor === 0 || info.state.first_seq > floor) return count;
  await jsm.streams.purge(n.stream, { seq: floor + 1 });
  const after = await jsm.streams.info(n.stream, { subjects_filter: subject });
  return after.state.subjects?.[subject] ?? 0;
}
