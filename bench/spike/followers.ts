/**
 * The spike bench's `live.queue` followers: a few child processes (bench/spike/sse-followers.mjs)
 * hold one SSE stream per following shopper, each stream from its own source address in
 * 127.0.0.0/8 — `PER_ADDRESS` streams per address, under the server's SSE_MAX_PER_IP (kept at its
 * default) — so the crowd's streams cost the bench process nothing and the per-IP cap bites no
 * more than it would on real shoppers. The parent learns of admissions (with the token) and of
 * sold out, and counts frames per 250 ms.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUCKET_MS } from './crowd.ts';

export const PER_ADDRESS = 10;

/** The source address of the k-th stream: 127.10.0.1, …, PER_ADDRESS streams each. */
export function sourceAddress(k: number): string {
  const a = Math.floor(k / PER_ADDRESS);
  return `127.${10 + Math.floor(a / 62_500)}.${Math.floor(a / 250) % 250}.${(a % 250) + 1}`;
}

interface Done {
  frames: number;
  opened: number;
  refused: number;
  failed: number;
  failures: Record<string, number>;
}

/** "n failed (ECONNRESET 3, …)" */
export function failedText(d: Done): string {
  const codes = Object.entries(d.failures).map(([k, n]) => `${k} ${n}`);
  return `${d.failed} failed${codes.length > 0 ? ` (${codes.join(', ')})` : ''}`;
}

export class Followers {
  private readonly children: ChildProcess[] = [];
  private next = 0;
  private streams = 0;
  /** Frames received, by 250 ms bucket since `t0`. */
  framesByBucket: number[] = [];
  t0 = Date.now();
  onAdmitted: (u: number, token: string) => void = () => undefined;
  onSoldOut: (u: number) => void = () => undefined;
  /** A stream that could not open or broke before its shopper was admitted. */
  onLost: (u: number) => void = () => undefined;
  /** Streams opened, refused or failed, per process (as last reported). */
  private readonly settled: number[] = [];

  static async start(processes: number): Promise<Followers> {
    const f = new Followers();
    const file = fileURLToPath(new URL('./sse-followers.mjs', import.meta.url));
    await Promise.all(
      Array.from({ length: processes }, async (_, p) => {
        const child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        f.children.push(child);
        f.settled[p] = 0;
        child.on(
          'message',
          (m: { type: string; u?: number; token?: string; n?: number; settled?: number }) => {
            if (m.type === 'admitted') f.onAdmitted(m.u as number, m.token as string);
            else if (m.type === 'soldout') f.onSoldOut(m.u as number);
            else if (m.type === 'lost') f.onLost(m.u as number);
            else if (m.type === 'frames') {
              f.settled[p] = m.settled ?? 0;
              const i = Math.floor((Date.now() - f.t0) / BUCKET_MS);
              while (f.framesByBucket.length <= i) f.framesByBucket.push(0);
              f.framesByBucket[i] = (f.framesByBucket[i] ?? 0) + (m.n as number);
            }
          },
        );
        await new Promise<void>((ok) => child.once('message', () => ok()));
      }),
    );
    return f;
  }

  /** Opens a stream for each shopper, spread over the processes and the source addresses. */
  follow(base: string, saleId: string, shoppers: { u: number; cookie: string }[]): void {
    const per = this.children.map(() => [] as { u: number; cookie: string; localAddress: string }[]);
    for (const s of shoppers) {
      per[this.next++ % this.children.length]?.push({ ...s, localAddress: sourceAddress(this.streams++) });
    }
    per.forEach((list, i) => {
      if (list.length > 0) this.children[i]?.send({ type: 'follow', base, saleId, shoppers: list });
    });
  }

  /** The follower processes' ids (their CPU is measured). */
  pids(): number[] {
    return this.children.map((c) => c.pid as number);
  }

  /** Streams that opened, were refused or failed so far. */
  settledStreams(): number {
    return this.settled.reduce((a, b) => a + b, 0);
  }

  /** Frames received since `fromMs` (bucket resolution). */
  framesSince(fromMs: number): number {
    const from = Math.floor((fromMs - this.t0) / BUCKET_MS);
    return this.framesByBucket.slice(Math.max(0, from)).reduce((a, b) => a + b, 0);
  }

  /** Closes every stream, ends the processes; their totals. */
  async stop(): Promise<Done> {
    const all = await Promise.all(
      this.children.map(
        (c) =>
          new Promise<Done>((ok) => {
            const onDone = (m: Done & { type: string }) => {
              if (m.type !== 'done') return;
              c.off('message', onDone);
              ok(m);
            };
            c.on('message', onDone);
            c.send({ type: 'stop' });
          }),
      ),
    );
    const failures: Record<string, number> = {};
    for (const d of all)
      for (const [k, n] of Object.entries(d.failures)) failures[k] = (failures[k] ?? 0) + n;
    return all.reduce((a, b) => ({
      frames: a.frames + b.frames,
      opened: a.opened + b.opened,
      refused: a.refused + b.refused,
      failed: a.failed + b.failed,
      failures,
    }));
  }
}

/** Resident set size of a process now (VmRSS), in bytes. */
export function rssNow(pid: number): number {
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}
