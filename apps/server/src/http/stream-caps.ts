import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_MESSAGES } from '@surge/contracts/errors';
import { ipGroup } from './client-ip.ts';
import { sendTrpcError } from './guards.ts';

/** `GET /trpc/live.<name>` (never batched): an SSE subscription. */
export function isSubscriptionRequest(req: IncomingMessage, path: string): boolean {
  return req.method === 'GET' && path.startsWith('/trpc/live.') && !path.includes(',');
}

/**
 * README.md#security for SSE streams, in this process: at most `maxPerIp` open streams per IP group (the
 * next one 429 RATE_LIMITED), and each stream cut after `maxDurationMs` — the connection is
 * dropped, not ended, so the browser's EventSource reconnects with its last event id and
 * resumes without a gap. `0` turns either off.
 */
export class StreamCaps {
  private readonly open = new Map<string, number>();

  constructor(private readonly cfg: { maxPerIp: number; maxDurationMs: number }) {}

  /** Admits the stream (true) and tracks it until its response closes, or answers 429 (false). */
  admit(req: IncomingMessage, res: ServerResponse, ip: string): boolean {
    const group = ipGroup(ip);
    const count = this.open.get(group) ?? 0;
    if (this.cfg.maxPerIp > 0 && count >= this.cfg.maxPerIp) {
      req.resume();
      sendTrpcError(res, 'RATE_LIMITED', ERROR_MESSAGES.RATE_LIMITED);
      return false;
    }
    this.open.set(group, count + 1);
    const timer =
      this.cfg.maxDurationMs > 0
        ? setTimeout(() => res.destroy(), this.cfg.maxDurationMs).unref()
        : undefined;
    res.once('close', () => {
      clearTimeout(timer);
      const left = (this.open.get(group) ?? 1) - 1;
      if (left <= 0) this.open.delete(group);
      else this.open.set(group, left);
    });
    return true;
  }

  openStreams(ip: string): number {
    return this.open.get(ipGroup(ip)) ?? 0;
  }
}
