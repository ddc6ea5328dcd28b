import type { Redis } from 'ioredis';
import { appError } from '../errors.ts';

export interface LoginGuardConfig {
  /** Redis key of the install-wide count of failed logins. */
  key: string;
  windowS: number;
  /** Failures in a window answered at once; past them each one waits longer (backoff). */
  freeFailures: number;
  maxDelayMs: number;
}

/**
 * README.md#security: a global count of failed admin logins beside the per-IP throttle — guesses spread
 * over many addresses still slow down. It only ever delays *wrong* passwords: admin.login
 * checks the password first, and a correct one never reaches this (nobody can lock the admin
 * out mid-sale by failing on purpose).
 */
export class LoginGuard {
  constructor(
    private readonly redis: Redis,
    private readonly cfg: LoginGuardConfig,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Counts one failure and waits out its backoff; returns the delay it waited (ms). */
  async failed(): Promise<number> {
    let n: number;
    try {
      const [[, count]] = (await this.redis
        .multi()
        .incr(this.cfg.key)
        .expire(this.cfg.key, this.cfg.windowS, 'NX')
        .exec()) as [[unknown, number]];
      n = Number(count);
    } catch (err) {
      throw appError('STORE_UNAVAILABLE', { retryAfterMs: 1000 }, err);
    }
    const delay = backoffMs(n, this.cfg);
    if (delay > 0) await this.sleep(delay);
    return delay;
  }
}

/** 0 for the first `freeFailures`, then 100 ms doubling per failure up to `maxDelayMs`. */
export function backoffMs(
  failures: number,
  cfg: Pick<LoginGuardConfig, 'freeFailures' | 'maxDelayMs'>,
): number {
  const over = failures - cfg.freeFailures;
  if (over <= 0) return 0;
  return Math.min(cfg.maxDelayMs, 100 * 2 ** Math.min(over - 1, 20));
}
