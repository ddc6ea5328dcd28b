import type { HudFrame, HudInstance, HudSale } from '@surge/contracts';
import { natsNames } from '@surge/contracts';
import type { PrismaClient } from '@surge/db';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import { type InstanceBeat, instancesKey, type NatsHandle, readInstances } from '@surge/infra';
import type { Redis } from 'ioredis';
import { saleFromHot } from '../sales/hot-state.ts';
import { readAnswers } from './answer-counts.ts';
import { LatencyWindow } from './place-latency.ts';
import { Reconciler } from './reconcile.ts';

const DOWN_AFTER_MS = 2500; // 2.5 missed heartbeats: a dead worker shows within 3 s
const FORGET_AFTER_MS = 60_000;
/**
 * Rates are measured over at least this long: at 4 reads a second a burst would otherwise show
 * for a single 250 ms frame (an admin could not read it, and a slow read made it vanish).
 */
const RATE_WINDOW_MS = 1000;
type Counters = Map<string, { accepted: number; finalized: number; admitted: number }>;

/**
 * The HUD's picture of the whole install, read from Redis (sales, counters, heartbeats), NATS
 * (queue depth) and PostgreSQL (dead letters) — the same on every server instance. Rates are
 * the change of Redis counters between two reads; slow sources are read at most once a second.
 */
export class HudSnapshots {
  /** Earlier reads' counters, oldest first, kept for RATE_WINDOW_MS (the rates' base). */
  private history: { at: number; counters: Counters }[] = [];
  private slow: {
    at: number;
    queue: HudFrame['queue'];
    dlq: HudFrame['dlq'];
    postgres: 'up' | 'down';
  } | null = null;
  private readonly reconciler: Reconciler;
  private readonly latency: LatencyWindow;
  private readonly settled = new SettledSales();

  constructor(
    private readonly d: {
      redis: Redis;
      prisma: PrismaClient;
      scripts: OrderScripts;
      nats: NatsHandle;
      namespace: string;
      saleIds(): string[];
      keysOf(saleId: string): SaleKeys;
      breaker(): 'closed' | 'open' | 'half-open';
    },
  ) {
    this.reconciler = new Reconciler(d);
    this.latency = new LatencyWindow(d.redis, d.namespace);
  }

  async read(): Promise<Omit<HudFrame, 'events'>> {
    const { redis } = this.d;
    const ids = this.d.saleIds();
    // Plain commands, not a pipeline: on Redis Cluster the sales live on several shards (the
    // client still sends each node's commands together). Same [error, value] shape as before.
    const settle = (p: Promise<unknown>) =>
      p.then(
        (v): [Error | null, unknown] => [null, v],
        (e: Error): [Error | null, unknown] => [e, null],
      );
    // A settled sale (see SettledSales) costs two commands, its hot hash and rebuild flag; the others six.
    const starts: number[] = [];
    const light = new Set<string>();
    const commands: Promise<[Error | null, unknown]>[] = [settle(redis.time())];
    for (const id of ids) {
      const k = this.d.keysOf(id);
      starts.push(commands.length);
      commands.push(settle(redis.hgetall(k.hot)), settle(redis.exists(k.rebuild)));
      if (this.settled.has(id)) {
        light.add(id);
        continue;
      }
      commands.push(
        settle(redis.zcard(k.outbox)),
        settle(redis.hget(k.qTix, '#cursor')),
        settle(redis.zcard(k.qLine)),
        settle(redis.zcard(k.qOut)),
      );
    }
    const replies = await Promise.all(commands);
    const [, time] = replies[0] ?? [null, ['0', '0']];
    const [sec, usec] = (time ?? ['0', '0']) as [string, string];
    const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    // The base: the newest earlier read at least RATE_WINDOW_MS old, else the oldest one kept.
    while (this.history.length > 1 && (this.history[1]?.at ?? now) <= now - RATE_WINDOW_MS)
      this.history.shift();
    const base = this.history[0];
    const elapsedS = base ? Math.max(0.001, (now - base.at) / 1000) : 1;
    const counters: Counters = new Map();
    const sales: HudSale[] = [];
    for (const [i, id] of ids.entries()) {
      const start = starts[i] as number;
      const got = replies.slice(start, start + (light.has(id) ? 2 : 6));
      const read = light.has(id) ? this.settled.values(id, got[0]?.[1], got[1]?.[1]) : got.map((r) => r?.[1]);
      const at = (j: number) => read[j];
      const hot = (at(0) ?? {}) as Record<string, string>;
      const rebuilding = at(1) === 1 || hot.remaining === undefined;
      const outbox = Number(at(2) ?? 0);
      const room = { admitted: Number(at(3) ?? 0), lineLength: Number(at(4) ?? 0) };
      const c = {
        accepted: Number(hot.accepted ?? 0),
        finalized: Number(hot.finalized ?? 0),
        admitted: room.admitted,
      };
      counters.set(id, c);
      // Only a read in full with every reply answered can find a sale settled.
      if (!light.has(id))
        this.settled.judge(
          id,
          read,
          got.every((r) => r?.[0] === null) && !rebuilding && outbox === 0 && now >= Number(hot.endsMs),
        );
      const before = base?.counters.get(id);
      const rate = (a: number, b: number | undefined) =>
        b === undefined ? 0 : Math.max(0, (a - b) / elapsedS);
      if (hot.remaining === undefined) {
        sales.push({
          ...emptySale(id, now),
          acceptedPerSec: 0,
          persistedPerSec: 0,
          outbox,
          room: null,
          reconciliation: null,
        });
        continue;
      }
      sales.push({
        ...saleFromHot(id, hot, rebuilding, now, room),
        acceptedPerSec: round(rate(c.accepted, before?.accepted)),
        persistedPerSec: round(rate(c.finalized, before?.finalized)),
        outbox,
        reconciliation: null,
        room:
          hot.qRate === undefined
            ? null
            : { admittedPerSec: round(rate(c.admitted, before?.admitted)), outstanding: Number(at(5) ?? 0) },
      });
    }
    this.history.push({ at: now, counters });
    this.settled.keepOnly(ids);
    const reconciled = this.reconciler.read(
      ids,
      (id) => sales.find((s) => s.id === id)?.state === 'rebuilding',
      now,
      (id) => this.settled.has(id),
    );
    for (const s of sales) s.reconciliation = reconciled.get(s.id) ?? null;

    const slow = await this.slowSources(now);
    const answers = await readAnswers(this.d.redis, this.d.namespace).catch(() => ({}));
    const latency = await this.latency.read().catch(() => NO_LATENCY);
    const instances = await this.instances(now);
    return {
      at: new Date(now).toISOString(),
      sales,
      throughput: {
        acceptedPerSec: round(sales.reduce((s, x) => s + x.acceptedPerSec, 0)),
        persistedPerSec: round(sales.reduce((s, x) => s + x.persistedPerSec, 0)),
      },
      latency,
      queue: slow.queue,
      outbox: sales.reduce((s, x) => s + x.outbox, 0),
      answers,
      dlq: slow.dlq,
      health: {
        redis: 'up',
        nats: this.d.nats.isConnected() ? 'up' : 'down',
        postgres: slow.postgres,
        breaker: this.d.breaker(),
        instances,
      },
    };
  }

  private async slowSources(now: number) {
    if (this.slow && now - this.slow.at < 1000) return this.slow;
    const n = natsNames(this.d.namespace);
    const queue = await Promise.all([
      this.d.nats.jsm.streams.info(n.stream).then((i) => i.state.messages),
      this.d.nats.jsm.consumers.info(n.stream, n.consumer).then(
        (c) => ({ pending: c.num_pending, ack: c.num_ack_pending }),
        () => ({ pending: 0, ack: 0 }),
      ),
    ]).then(
      ([messages, c]) => ({ streamMessages: messages, consumerPending: c.pending, ackPending: c.ack }),
      () => this.slow?.queue ?? { streamMessages: 0, consumerPending: 0, ackPending: 0 },
    );
    const dlq = await this.d.prisma.$queryRaw<{ depth: bigint; oldest: Date | null }[]>`
      SELECT count(*) AS depth, min(first_seen_at) AS oldest FROM dead_letters`.then(
      (rows) => ({ ok: true, depth: Number(rows[0]?.depth ?? 0), oldest: rows[0]?.oldest ?? null }),
      () => ({ ok: false, depth: this.slow?.dlq.depth ?? 0, oldest: null }),
    );
    this.slow = {
      at: now,
      queue,
      dlq: { depth: dlq.depth, oldestAgeMs: dlq.oldest ? Math.max(0, now - dlq.oldest.getTime()) : null },
      postgres: dlq.ok ? 'up' : 'down',
    };
    return this.slow;
  }

  private async instances(now: number): Promise<HudInstance[]> {
    const [servers, workers] = await Promise.all([
      readInstances(this.d.redis, this.d.namespace, 'server'),
      readInstances(this.d.redis, this.d.namespace, 'worker'),
    ]);
    const out: HudInstance[] = [];
    for (const b of [...servers, ...workers]) {
      const age = now - b.lastSeen;
      if (age > FORGET_AFTER_MS) {
        void this.d.redis.hdel(instancesKey(this.d.namespace, b.kind), b.id).catch(() => undefined);
        continue;
      }
      out.push(view(b, age));
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
  }
}

/**
 * Sales that have ended with nothing in flight (no outbox entry, not rebuilding). Such a sale
 * changes only if an admin step, a worker or a rebuild touches it: each of those writes its hot
 * hash (a rebuild sets its flag first) — and an install keeps every sale it ever ran, each six
 * Redis commands per HUD read. So once a full read, every reply answered, finds a sale settled,
 * the next reads fetch only its hot hash and rebuild flag and reuse the other four figures while
 * the hash reads back the same and no flag is set; otherwise the sale is read in full again from
 * the next read on. (The reconciliation of a settled sale is refreshed less often too:
 * reconcile.ts.)
 */
export class SettledSales {
  private readonly byId = new Map<string, { hot: string; rest: unknown[] }>();

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * The six figures of a settled sale, given its hot hash and rebuild flag as just read, and
   * the remembered four. A hash that differs from the remembered one, or a rebuild flag, ends
   * the sale's settled state: this frame still shows the remembered four, the next read reads
   * all six.
   */
  values(id: string, hot: unknown, rebuild: unknown): unknown[] {
    const known = this.byId.get(id);
    if (rebuild !== 0 || JSON.stringify(hot ?? null) !== known?.hot) this.byId.delete(id);
    return [hot, rebuild, ...(known?.rest ?? [])];
  }

  /** After a sale was read in full: remembers it when it is settled, forgets it when not. */
  judge(id: string, figures: unknown[], settled: boolean): void {
    if (settled) this.byId.set(id, { hot: JSON.stringify(figures[0] ?? null), rest: figures.slice(2) });
    else this.byId.delete(id);
  }

  /** Drops sales no longer listed. */
  keepOnly(ids: readonly string[]): void {
    if (this.byId.size === 0) return;
    const listed = new Set(ids);
    for (const id of this.byId.keys()) if (!listed.has(id)) this.byId.delete(id);
  }
}

function view(b: InstanceBeat, age: number): HudInstance {
  const up = age <= DOWN_AFTER_MS && b.state !== 'stopped';
  return {
    id: b.id,
    kind: b.kind,
    health: up ? 'up' : 'down',
    state: up ? b.state : b.state === 'stopped' ? 'stopped' : 'silent',
    lastSeen: new Date(b.lastSeen).toISOString(),
    detail: { host: b.host, pid: b.pid, ...b.detail },
  };
}

function emptySale(id: string, now: number) {
  const iso = new Date(now).toISOString();
  return {
    id,
    name: id,
    priceCents: 0,
    totalStock: 0,
    remaining: 0,
    perUserLimit: 0,
    state: 'rebuilding' as const,
    startsAt: iso,
    endsAt: iso,
    serverTime: iso,
    queue: null,
  };
}

const NO_LATENCY: HudFrame['latency'] = { windowS: 0, count: 0, p50Ms: null, p99Ms: null };

const round = (n: number) => Math.round(n * 10) / 10;
