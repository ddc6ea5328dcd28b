import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_MESSAGES } from '@surge/contracts/errors';
import { startLoop } from '@surge/infra';
import type { Redis } from 'ioredis';
import { ipGroup } from './client-ip.ts';
import { sendTrpcError } from './guards.ts';

/** `GET /trpc/live.<name>` (never batched): an SSE subscription. */
export function isSubscriptionRequest(req: IncomingMessage, path: string): boolean {
  return req.method === 'GET' && path.startsWith('/trpc/live.') && !path.includes(',');
}

// One IP group's open streams across every server: a sorted set of stream ids scored by when
// each stops counting (Redis time, ms). Expired ones — a crashed server's — go first.
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`;
// This server's streams of one group still count for another lease.
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`;

const ADMIT_CMD = 'surgeSseAdmit';
const RENEW_CMD = 'surgeSseRenew';
type Scripted = Record<
  typeof ADMIT_CMD | typeof RENEW_CMD,
  (...args: (string | number)[]) => Promise<unknown>
>;

export interface StreamCapsConfig {
  /** Open streams per IP group across every server (`SSE_MAX_PER_IP`); 0 = off. */
  maxPerIp: number;
  /** A stream's longest life (`SSE_MAX_DURATION_S`); 0 = off. */
  maxDurationMs: number;
  /** How long a stream counts without its server renewing it (`SSE_LEASE_S`): a crashed server's. */
  leaseMs: number;
}

/**
 * README.md#security for SSE streams: at most `maxPerIp` open streams per IP group across every
 * server (the next one 429 RATE_LIMITED), and each stream cut after `maxDurationMs` — the
 * connection is dropped, not ended, so the browser's EventSource reconnects with its last event
 * id and resumes without a gap. The count lives in Redis (`<ns>:{sse}:<group>`, one sorted set
 * per group, one hash slot for all): each server renews its own streams every third of
 * `leaseMs`, so those of a server that died stop counting within `leaseMs`. This process also
 * keeps its own count, which alone decides while Redis cannot answer.
 */
export class StreamCaps {
  private readonly local = new Map<string, number>();
  /** This server's streams counted in Redis: stream id → its group's key. */
  private readonly counted = new Map<string, string>();
  private seq = 0;
  private readonly renewal: { stop(): Promise<void> } | null;

  constructor(
    private readonly cfg: StreamCapsConfig,
    private readonly shared?: {
      redis: Redis;
      namespace: string;
      instanceId: string;
      onError(err: unknown): void;
    },
  ) {
    // Sent by SHA (EVALSHA, EVAL after a NOSCRIPT): not the script's text with every stream.
    if (shared) {
      shared.redis.defineCommand(ADMIT_CMD, { numberOfKeys: 1, lua: ADMIT });
      shared.redis.defineCommand(RENEW_CMD, { numberOfKeys: 1, lua: RENEW });
    }
    this.renewal =
      shared && cfg.maxPerIp > 0
        ? startLoop(Math.max(50, Math.floor(cfg.leaseMs / 3)), () => this.renew(), shared.onError)
        : null;
  }

  /**
   * Admits the stream and tracks it until its response closes (true), or answers 429 (false).
   * The response's close is watched from the start, so a client gone while Redis answers
   * leaves nothing counted.
   */
  async admit(req: IncomingMessage, res: ServerResponse, ip: string): Promise<boolean> {
    const group = ipGroup(ip);
    const count = this.local.get(group) ?? 0;
    if (this.cfg.maxPerIp > 0 && count >= this.cfg.maxPerIp) return this.refuse(req, res);
    this.local.set(group, count + 1);
    const id = `${this.shared?.instanceId ?? 'local'}:${++this.seq}`;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    res.once('close', () => {
      closed = true;
      clearTimeout(timer);
      const left = (this.local.get(group) ?? 1) - 1;
      if (left <= 0) this.local.delete(group);
      else this.local.set(group, left);
      const key = this.counted.get(id);
      if (key) {
        this.counted.delete(id);
        this.shared?.redis.zrem(key, id).catch(this.shared.onError);
      }
    });
    if (this.shared && this.cfg.maxPerIp > 0) {
      const key = `${this.shared.namespace}:{sse}:${group}`;
      let admitted = true;
      try {
        admitted =
          (await (this.shared.redis as unknown as Scripted)[ADMIT_CMD](
            key,
            id,
            this.cfg.maxPerIp,
            this.cfg.leaseMs,
          )) === 1;
      } catch (err) {
        this.shared.onError(err); // Redis unreachable: this server's own count decides
      }
      if (!admitted) {
        if (!closed) this.refuse(req, res);
        return false;
      }
      if (closed) {
        await this.shared.redis.zrem(key, id).catch(this.shared.onError);
        return false;
      }
      this.counted.set(id, key);
    }
    if (this.cfg.maxDurationMs > 0) timer = setTimeout(() => res.destroy(), this.cfg.maxDurationMs).unref();
    return true;
  }

  openStreams(ip: string): number {
    return this.local.get(ipGroup(ip)) ?? 0;
  }

  /** Stops renewing; this server's streams stop counting once their lease runs out. */
  async close(): Promise<void> {
    await this.renewal?.stop();
  }

  private refuse(req: IncomingMessage, res: ServerResponse): false {
    req.resume();
    sendTrpcError(res, 'RATE_LIMITED', ERROR_MESSAGES.RATE_LIMITED);
    return false;
  }

  private async renew(): Promise<void> {
    if (!this.shared || this.counted.size === 0) return;
    const byKey = new Map<string, string[]>();
    for (const [id, key] of this.counted) {
      const ids = byKey.get(key);
      if (ids) ids.push(id);
      else byKey.set(key, [id]);
    }
    const pipeline = this.shared.redis.pipeline();
    for (const [key, ids] of byKey)
      (pipeline as unknown as Scripted)[RENEW_CMD](key, this.cfg.leaseMs, ...ids);
    await pipeline.exec();
  }
}
