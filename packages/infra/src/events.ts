import type { Redis } from 'ioredis';

/**
 * The HUD's event feed (docs/architecture.md#live-data): one capped Redis stream per namespace that
 * every server and worker appends to. Stream ids increase, so a subscriber resumes after the last
 * id it saw without gaps or repeats. Noisy kinds (rate-limit hits, duplicate attempts) are
 * coalesced per process: at most one entry per kind and key each second, carrying how many it
 * stands for.
 */
export type EventKind =
  | 'admin'
  | 'rate-limit'
  | 'duplicate'
  | 'dead-letter'
  | 'breaker'
  | 'health'
  | 'rebuild'
  | 'alarm';

export interface FeedEvent {
  id: string;
  at: string;
  kind: EventKind;
  message: string;
  data?: Record<string, unknown>;
}

const MAX_LEN = 2000;

export function eventsKey(namespace: string): string {
  return `${namespace}:events`;
}

export class EventFeed {
  private readonly pending = new Map<
    string,
    { kind: EventKind; message: string; count: number; data?: Record<string, unknown> }
  >();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly source: string,
  ) {
    this.timer = setInterval(() => void this.flushCoalesced(), 1000);
    this.timer.unref();
  }

  /** Appends at once; a failure to record an event never fails the action it describes. */
  async emit(kind: EventKind, message: string, data?: Record<string, unknown>): Promise<void> {
    const payload = JSON.stringify({ kind, message, source: this.source, ...(data ? { data } : {}) });
    await this.redis
      .xadd(eventsKey(this.namespace), 'MAXLEN', '~', MAX_LEN, '*', 'e', payload)
      .catch(() => undefined);
  }

  /** Counts an occurrence; one event per kind + key per second says how many there were. */
  coalesce(kind: EventKind, key: string, message: string, data?: Record<string, unknown>): void {
    const id = `${kind}|${key}`;
    const entry = this.pending.get(id);
    if (entry) entry.count++;
    else this.pending.set(id, { kind, message, count: 1, data });
  }

  private async flushCoalesced(): Promise<void> {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const e of entries) {
      await this.emit(e.kind, e.count > 1 ? `${e.message} (×${e.count})` : e.message, {
        ...e.data,
        count: e.count,
      });
    }
  }

  /** Events after `afterId` (exclusive), oldest first: where a reconnecting reader resumes. */
  after(afterId: string): Promise<FeedEvent[]> {
    return readEvents(this.redis, this.namespace, afterId);
  }

  /** The newest `count` events, oldest first. */
  recent(count?: number): Promise<FeedEvent[]> {
    return recentEvents(this.redis, this.namespace, count);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushCoalesced();
  }
}

/** Events after `afterId` (exclusive), oldest first. */
export async function readEvents(
  redis: Redis,
  namespace: string,
  afterId: string,
  count = 100,
): Promise<FeedEvent[]> {
  const rows = await redis.xrange(eventsKey(namespace), `(${afterId}`, '+', 'COUNT', count);
  return rows.map(toEvent);
}

/** The newest `count` events, oldest first. */
export async function recentEvents(redis: Redis, namespace: string, count = 50): Promise<FeedEvent[]> {
  const rows = await redis.xrevrange(eventsKey(namespace), '+', '-', 'COUNT', count);
  return rows.reverse().map(toEvent);
}

function toEvent([id, fields]: [string, string[]]): FeedEvent {
  const raw = fields[1] ?? '{}';
  let parsed: { kind?: EventKind; message?: string; data?: Record<string, unknown>; source?: string } = {};
  try {
    parsed = JSON.parse(raw);
  } catch {
    // an entry written by something else: show it as it is
  }
  const ms = Number(id.split('-')[0]);
  return {
    id,
    at: new Date(ms).toISOString(),
    kind: parsed.kind ?? 'alarm',
    message: parsed.message ?? raw,
    data: { ...(parsed.data ?? {}), ...(parsed.source ? { source: parsed.source } : {}) },
  };
}
