import type { Redis } from 'ioredis';

const KEEP_S = 120;

/**
 * `order.place` answers per second by kind (accepted, replay, SOLD_OUT, NOT_ADMITTED, …) across
 * every server, for the HUD's chart (issue 9 §2: during a spike an admin sees what the crowd
 * gets). Counted in memory — an answer costs no Redis command, so a refusal that needs no I/O
 * still makes none — and added once a second to `<ns>:answers:<unix second>` (kept 2 minutes).
 * The same per-second counting holds the `order.place` latency buckets (`what` = `latency`,
 * place-latency.ts).
 */
export class AnswerCounts {
  private pending = new Map<number, Map<string, number>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly what = 'answers',
  ) {}

  static key(namespace: string, second: number, what = 'answers'): string {
    return `${namespace}:${what}:${second}`;
  }

  add(kind: string): void {
    const second = Math.floor(Date.now() / 1000);
    let counts = this.pending.get(second);
    if (!counts) {
      counts = new Map();
      this.pending.set(second, counts);
    }
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush(true);
  }

  /** Writes every finished second (and, on stop, the current one). Lost on a Redis error: it is a chart. */
  async flush(all = false): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const pipe = this.redis.pipeline();
    let any = false;
    for (const [second, counts] of this.pending) {
      if (!all && second >= now) continue;
      this.pending.delete(second);
      const key = AnswerCounts.key(this.namespace, second, this.what);
      for (const [kind, n] of counts) pipe.hincrby(key, kind, n);
      pipe.expire(key, KEEP_S);
      any = true;
    }
    if (any) await pipe.exec().catch(() => undefined);
  }
}

/** The last finished second's answers by kind, summed over every server. */
export async function readAnswers(redis: Redis, namespace: string): Promise<Record<string, number>> {
  const second = Math.floor(Date.now() / 1000) - 2; // flushed about a second after it ends
  const raw = await redis.hgetall(AnswerCounts.key(namespace, second));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
}
