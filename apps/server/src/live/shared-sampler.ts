/**
 * One reader per subject per process, however many subscribers: a hub reads its subject from
 * Redis/NATS every `intervalMs` while anyone listens, and wakes its subscribers only when the
 * value changed. That coalesces frames (≤ 1000/intervalMs per second) and makes a thousand
 * shoppers watching one sale cost one Redis read per tick.
 */
interface Hub {
  value: unknown;
  fingerprint: string;
  version: number;
  refs: number;
  waiters: Set<() => void>;
  timer: NodeJS.Timeout | null;
  reading: boolean;
}

export class SharedSampler {
  private readonly hubs = new Map<string, Hub>();

  constructor(private readonly onError: (err: unknown, key: string) => void = () => undefined) {}

  /** Yields the subject's current value at once, then each change, until `signal` aborts. */
  async *watch<T>(
    key: string,
    read: () => Promise<T>,
    opts: { intervalMs: number; signal: AbortSignal; fingerprint?: (v: T) => string },
  ): AsyncGenerator<T> {
    const hub = this.acquire(
      key,
      read as () => Promise<unknown>,
      opts.intervalMs,
      (opts.fingerprint ?? JSON.stringify) as (v: unknown) => string,
    );
    try {
      let seen = -1;
      while (!opts.signal.aborted) {
        if (hub.version !== seen && hub.version > 0) {
          seen = hub.version;
          yield hub.value as T;
          continue;
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            hub.waiters.delete(wake);
            opts.signal.removeEventListener('abort', wake);
            resolve();
          };
          hub.waiters.add(wake);
          opts.signal.addEventListener('abort', wake, { once: true });
        });
      }
    } finally {
      this.release(key);
    }
  }

  private acquire(
    key: string,
    read: () => Promise<unknown>,
    intervalMs: number,
    fp: (v: unknown) => string,
  ): Hub {
    let hub = this.hubs.get(key);
    if (!hub) {
      const h: Hub = {
        value: undefined,
        fingerprint: '',
        version: 0,
        refs: 0,
        waiters: new Set(),
        timer: null,
        reading: false,
      };
      const tick = async () => {
        if (h.reading) return;
        h.reading = true;
        try {
          const v = await read();
          const f = fp(v);
          if (f !== h.fingerprint || h.version === 0) {
            h.value = v;
            h.fingerprint = f;
            h.version++;
            for (const w of [...h.waiters]) w();
          }
        } catch (err) {
          this.onError(err, key);
        } finally {
          h.reading = false;
        }
      };
      h.timer = setInterval(() => void tick(), intervalMs);
      h.timer.unref();
      void tick();
      this.hubs.set(key, h);
      hub = h;
    }
    hub.refs++;
    return hub;
  }

  private release(key: string): void {
    const hub = this.hubs.get(key);
    if (!hub) return;
    hub.refs--;
    if (hub.refs <= 0) {
      if (hub.timer) clearInterval(hub.timer);
      this.hubs.delete(key);
    }
  }

  /** Subjects with at least one subscriber (for metrics and tests). */
  size(): number {
    return this.hubs.size;
  }

  closeAll(): void {
    for (const hub of this.hubs.values()) {
      if (hub.timer) clearInterval(hub.timer);
      for (const w of hub.waiters) w();
    }
    this.hubs.clear();
  }
}
