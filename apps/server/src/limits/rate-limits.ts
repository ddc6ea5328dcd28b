import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { appError } from '../errors.ts';

/**
 * The rate limits (docs/architecture.md#the-http-edge), counted in Redis so every server shares
 * them. A limit of 0 turns that limiter off (load tests); the admin-login throttle is always on.
 */
export interface RateLimitConfig {
  perUser: number;
  perIp: number;
  windowMs: number;
  adminLogin: number;
  adminLoginWindowMs: number;
  prefix: string;
}

export type LimitName = 'order-user' | 'order-ip' | 'session-ip' | 'admin-login';

export class RateLimits {
  private readonly limiters = new Map<LimitName, RateLimiterRedis>();

  constructor(
    redis: Redis,
    cfg: RateLimitConfig,
    private readonly onLimited?: (name: LimitName, key: string) => void,
  ) {
    const make = (name: LimitName, points: number, windowMs: number) => {
      if (points <= 0) return;
      this.limiters.set(
        name,
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${cfg.prefix}:${name}`,
          points,
          duration: Math.max(1, Math.ceil(windowMs / 1000)),
        }),
      );
    };
    make('order-user', cfg.perUser, cfg.windowMs);
    make('order-ip', cfg.perIp, cfg.windowMs);
    make('session-ip', cfg.perIp, cfg.windowMs);
    make('admin-login', cfg.adminLogin, cfg.adminLoginWindowMs);
  }

  /** Throws RATE_LIMITED (429, retryAfterMs) when `key` has used up `name`'s window. */
  async consume(name: LimitName, key: string): Promise<void> {
    const limiter = this.limiters.get(name);
    if (!limiter) return;
    try {
      await limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        this.onLimited?.(name, key);
        throw appError('RATE_LIMITED', { retryAfterMs: Math.max(1, Math.ceil(err.msBeforeNext)) });
      }
      throw appError('STORE_UNAVAILABLE', { retryAfterMs: 1000 }, err);
    }
  }
}
