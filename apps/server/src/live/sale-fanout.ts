import type { IncomingMessage, ServerResponse } from 'node:http';
import { liveSaleInput } from '@surge/contracts';
import type { Logger } from '@surge/infra';
import type { SharedSampler } from './shared-sampler.ts';

/** What tRPC's SSE writer (sseStreamProducer, @trpc/server 11) sends, byte for byte. */
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
};
const event = (name: string, data: string) => `event: ${name}\ndata: ${data}\n\n\n`;
const PING = Buffer.from(event('ping', ''));
const RETURN = Buffer.from(event('return', ''));

interface Channel {
  subscribers: Set<ServerResponse>;
  /** The current frame, for a subscriber that arrives between two changes. */
  last: Buffer | null;
  stop: AbortController;
}

/**
 * `live.sale` for many subscribers (docs/architecture.md#live-data): the same stream the tRPC
 * subscription sends — same headers, `connected` event, tracked frames (`data` then `id`), pings,
 * `return` at shutdown — but each frame is serialised once per change, into one Buffer written
 * to every subscriber of the sale, instead of once per subscriber through tRPC's per-stream
 * generators and web streams (which cost ~0.35 ms of CPU per subscriber and frame: 10,000
 * subscribers took seconds per frame). It reads through the same SharedSampler hub as the tRPC
 * procedure. It takes only the plain case — a valid input of a sale that exists — and gives
 * everything else (a bad input, SALE_NOT_FOUND, Redis down at the start) back to tRPC, whose
 * answers are the contract.
 */
export class SaleFanout {
  private readonly channels = new Map<string, Channel>();
  private readonly connected: Buffer;
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly d: {
      sampler: SharedSampler;
      /** The sale as `sale.get` and the tRPC procedure read it. */
      read(saleId: string): Promise<{ serverTime: string }>;
      tickMs: number;
      pingMs: number;
      clientOptions: object;
      /** Aborted at shutdown: every stream gets `return` and ends. */
      closing: AbortSignal;
      log: Logger;
    },
  ) {
    this.connected = Buffer.from(event('connected', JSON.stringify(d.clientOptions)));
    // One timer for every stream: tRPC pings a stream after pingMs without an event; this pings
    // every stream every pingMs, which keeps each within the same bound.
    this.pinger = setInterval(() => {
      for (const ch of this.channels.values()) for (const res of ch.subscribers) res.write(PING);
    }, d.pingMs);
    this.pinger.unref();
    d.closing.addEventListener('abort', () => this.closeAll(), { once: true });
  }

  /** `GET /trpc/live.sale?input=…` with nothing else that tRPC would read differently. */
  static wants(url: URL): string | null {
    if (url.pathname !== '/trpc/live.sale') return null;
    for (const key of url.searchParams.keys()) if (key !== 'input') return null;
    const raw = url.searchParams.get('input');
    if (raw === null) return null;
    let input: unknown;
    try {
      input = JSON.parse(raw);
    } catch {
      return null;
    }
    const parsed = liveSaleInput.safeParse(input);
    return parsed.success ? parsed.data.saleId : null;
  }

  /**
   * Serves the stream, or calls `fallback` (tRPC) when the sale cannot be read now; the caller
   * has admitted the stream (StreamCaps) already.
   */
  async serve(
    saleId: string,
    req: IncomingMessage,
    res: ServerResponse,
    fallback: () => void,
  ): Promise<void> {
    if (this.d.closing.aborted) return fallback();
    try {
      await this.d.read(saleId); // SALE_NOT_FOUND and outages: tRPC answers them
    } catch {
      return fallback();
    }
    if (res.destroyed) return;
    req.resume();
    res.writeHead(200, SSE_HEADERS);
    res.write(this.connected);
    const ch = this.channel(saleId);
    if (ch.last) res.write(ch.last);
    ch.subscribers.add(res);
    res.once('close', () => {
      ch.subscribers.delete(res);
      if (ch.subscribers.size === 0 && this.channels.get(saleId) === ch) {
        this.channels.delete(saleId);
        ch.stop.abort();
      }
    });
  }

  /** Streams open, for tests and metrics. */
  size(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.subscribers.size;
    return n;
  }

  private channel(saleId: string): Channel {
    const existing = this.channels.get(saleId);
    if (existing) return existing;
    const ch: Channel = { subscribers: new Set(), last: null, stop: new AbortController() };
    this.channels.set(saleId, ch);
    const frames = this.d.sampler.watch(`sale:${saleId}`, () => this.d.read(saleId), {
      intervalMs: this.d.tickMs,
      signal: AbortSignal.any([ch.stop.signal, this.d.closing]),
      fingerprint: (s) => JSON.stringify({ ...s, serverTime: '' }),
    });
    void (async () => {
      for await (const sale of frames) {
        // The frame, serialised once for every subscriber of the sale.
        const frame = Buffer.from(`data: ${JSON.stringify(sale)}\nid: ${Date.parse(sale.serverTime)}\n\n\n`);
        ch.last = frame;
        for (const res of ch.subscribers) res.write(frame);
      }
    })().catch((err: unknown) => {
      this.d.log.error({ err, saleId }, 'live.sale fan-out failed; its streams end');
      for (const res of ch.subscribers) res.destroy();
    });
    return ch;
  }

  private closeAll(): void {
    clearInterval(this.pinger);
    for (const ch of this.channels.values()) {
      ch.stop.abort();
      for (const res of ch.subscribers) res.end(RETURN);
    }
    this.channels.clear();
  }
}
