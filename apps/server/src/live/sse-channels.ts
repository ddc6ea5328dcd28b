import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';

/**
 * What tRPC's SSE writer (sseStreamProducer, @trpc/server 11) sends, byte for byte, with the
 * adapter's `Vary`; each stream also gets its own `X-Correlation-Id`, as the tRPC context sets.
 */
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
  Vary: 'trpc-accept, accept',
};
export const sseEvent = (name: string, data: string) => `event: ${name}\ndata: ${data}\n\n\n`;
/** A `tracked()` frame as tRPC writes it: `data` then `id`. */
export const trackedFrame = (json: string, id: string) => `data: ${json}\nid: ${id}\n\n\n`;
const PING = Buffer.from(sseEvent('ping', ''));
export const RETURN = Buffer.from(sseEvent('return', ''));

/**
 * The input of `GET /trpc/<procedure>?input=…` when nothing else in the request would make tRPC
 * answer differently: only an `input`, valid, with no `lastEventId` (in the query, the input or
 * the `Last-Event-ID` header); else null, and tRPC serves the stream.
 */
export function plainSubscriptionInput<S extends z.ZodType<{ lastEventId?: string | null }>>(
  url: URL,
  req: IncomingMessage,
  procedurePath: string,
  schema: S,
): z.infer<S> | null {
  if (url.pathname !== procedurePath || req.headers['last-event-id'] !== undefined) return null;
  for (const key of url.searchParams.keys()) if (key !== 'input') return null;
  const raw = url.searchParams.get('input');
  if (raw === null) return null;
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(input);
  return parsed.success && parsed.data.lastEventId == null ? parsed.data : null;
}

export interface Channel<S> {
  subscribers: Set<S>;
  /** The current frame of a channel whose frame is the same for all, for one who arrives late. */
  last: Buffer | null;
  /** Aborted when the channel's last subscriber leaves, or at shutdown. */
  stop: AbortController;
}

/**
 * The SSE side of a fan-out (live/sale-fanout.ts, live/queue-fanout.ts): streams grouped in
 * channels (a sale), opened with the headers and `connected` event tRPC writes, pinged by one
 * timer, ended with `return` at shutdown. The caller has admitted the stream (StreamCaps: the
 * per-IP cap and the SSE_MAX_DURATION_S cut) before it gets here.
 */
export class SseChannels<S extends { res: ServerResponse }> {
  private readonly channels = new Map<string, Channel<S>>();
  private readonly connected: Buffer;
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly d: {
      pingMs: number;
      clientOptions: object;
      /** Aborted at shutdown: every stream gets `return` and ends. */
      closing: AbortSignal;
      /** A new channel: feed it until `signal` aborts (its last subscriber left, or shutdown). */
      start(key: string, ch: Channel<S>, signal: AbortSignal): void;
    },
  ) {
    this.connected = Buffer.from(sseEvent('connected', JSON.stringify(d.clientOptions)));
    // One timer for every stream: tRPC pings a stream after pingMs without an event; this pings
    // every stream every pingMs, which keeps each within the same bound.
    this.pinger = setInterval(() => {
      for (const ch of this.channels.values())
        for (const s of ch.subscribers) if (!s.res.writableEnded) s.res.write(PING);
    }, d.pingMs);
    this.pinger.unref();
    d.closing.addEventListener('abort', () => this.closeAll(), { once: true });
  }

  get closing(): boolean {
    return this.d.closing.aborted;
  }

  /** Answers the request with the SSE headers and `connected`; the stream is the caller's. */
  open(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    res.setHeader('X-Correlation-Id', randomUUID());
    res.writeHead(200, SSE_HEADERS);
    res.write(this.connected);
  }

  /** Adds a subscriber to the channel `key` (started on first use) until its response closes. */
  add(key: string, sub: S): Channel<S> {
    let ch = this.channels.get(key);
    if (!ch) {
      ch = { subscribers: new Set(), last: null, stop: new AbortController() };
      this.channels.set(key, ch);
      this.d.start(key, ch, AbortSignal.any([ch.stop.signal, this.d.closing]));
    }
    const joined = ch;
    joined.subscribers.add(sub);
    sub.res.once('close', () => {
      joined.subscribers.delete(sub);
      if (joined.subscribers.size === 0 && this.channels.get(key) === joined) {
        this.channels.delete(key);
        joined.stop.abort();
      }
    });
    return joined;
  }

  /** Streams open, for tests and metrics. */
  size(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.subscribers.size;
    return n;
  }

  private closeAll(): void {
    clearInterval(this.pinger);
    for (const ch of this.channels.values()) {
      ch.stop.abort();
      for (const s of ch.subscribers) if (!s.res.writableEnded) s.res.end(RETURN);
    }
    this.channels.clear();
  }
}
