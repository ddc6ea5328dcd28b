import type { IncomingMessage, ServerResponse } from 'node:http';
import { liveSaleInput } from '@surge/contracts';
import type { Logger } from '@surge/infra';
import type { SharedSampler } from './shared-sampler.ts';
import { type Channel, plainSubscriptionInput, SseChannels, trackedFrame } from './sse-channels.ts';

interface Subscriber {
  res: ServerResponse;
}

/**
 * `live.sale` for many subscribers (docs/architecture.md#live-data): the same stream the tRPC
 * subscription sends — same headers, `connected` event, tracked frames (`data` then `id`), pings,
 * `return` at shutdown (live/sse-channels.ts) — but each frame is serialised once per change, into
 * one Buffer written to every subscriber of the sale, instead of once per subscriber through
 * tRPC's per-stream generators and web streams (which cost ~0.35 ms of CPU per subscriber and
 * frame: 10,000 subscribers took seconds per frame). It reads through the same SharedSampler hub
 * as the tRPC procedure. It takes only the plain case — a valid input of a sale that exists — and
 * gives everything else (a bad input, a `lastEventId`, SALE_NOT_FOUND, Redis down at the start)
 * back to tRPC, whose answers are the contract.
 */
export class SaleFanout {
  private readonly streams: SseChannels<Subscriber>;

  constructor(
    private readonly d: {
      sampler: SharedSampler;
      /** The sale as `sale.get` and the tRPC procedure read it. */
      read(saleId: string): Promise<{ serverTime: string }>;
      /** The read limit every query and subscription pays (`limitReads`); throws when refused. */
      chargeRead(req: IncomingMessage): Promise<unknown>;
      tickMs: number;
      pingMs: number;
      clientOptions: object;
      /** Aborted at shutdown: every stream gets `return` and ends. */
      closing: AbortSignal;
      log: Logger;
    },
  ) {
    this.streams = new SseChannels<Subscriber>({
      pingMs: d.pingMs,
      clientOptions: d.clientOptions,
      closing: d.closing,
      start: (saleId, ch, signal) => this.feed(saleId, ch, signal),
    });
  }

  /** `GET /trpc/live.sale?input=…` with nothing else that tRPC would read differently. */
  static wants(url: URL, req: IncomingMessage): string | null {
    return plainSubscriptionInput(url, req, '/trpc/live.sale', liveSaleInput)?.saleId ?? null;
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
    if (this.streams.closing) return fallback();
    try {
      await this.d.chargeRead(req); // per-IP read limit, as the procedure's middleware charges it
      await this.d.read(saleId); // SALE_NOT_FOUND and outages: tRPC answers them
    } catch {
      // tRPC answers RATE_LIMITED (a refused client pays one more token there), SALE_NOT_FOUND,
      // outages.
      return fallback();
    }
    if (res.destroyed) return;
    this.streams.open(req, res);
    const ch = this.streams.add(saleId, { res });
    if (ch.last) res.write(ch.last);
  }

  /** Streams open, for tests and metrics. */
  size(): number {
    return this.streams.size();
  }

  private feed(saleId: string, ch: Channel<Subscriber>, signal: AbortSignal): void {
    const frames = this.d.sampler.watch(`sale:${saleId}`, () => this.d.read(saleId), {
      intervalMs: this.d.tickMs,
      signal,
      fingerprint: (s) => JSON.stringify({ ...s, serverTime: '' }),
    });
    void (async () => {
      for await (const sale of frames) {
        // The frame, serialised once for every subscriber of the sale.
        const frame = Buffer.from(trackedFrame(JSON.stringify(sale), String(Date.parse(sale.serverTime))));
        ch.last = frame;
        for (const s of ch.subscribers) s.res.write(frame);
      }
    })().catch((err: unknown) => {
      this.d.log.error({ err, saleId }, 'live.sale fan-out failed; its streams end');
      for (const s of ch.subscribers) s.res.destroy();
    });
  }
}
