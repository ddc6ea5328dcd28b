import { type Completion, type History, placeCompletion } from '../support/checker/index.ts';
import { ChaosClient, type Reply, reasonOf } from './client.ts';
import { rng } from './schedule.ts';
import type { Slot } from './stack.ts';

/**
 * The fault run's load: shoppers buying 1–3 units on several sales, retrying an indeterminate
 * or a retryable answer with the same key as the shop page does, and an admin pausing,
 * resuming, restocking and flushing the cache now and then. Every call goes into the history.
 */

/** Answers after which the shop page retries the same purchase (same key, same input). */
const RETRYABLE = new Set([
  'SALE_REBUILDING',
  'QUEUE_UNAVAILABLE',
  'STORE_UNAVAILABLE',
  'IDEMPOTENCY_IN_FLIGHT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'REBUILD_BLOCKED',
]);
const MAX_ATTEMPTS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadOptions {
  history: History;
  servers: () => readonly Slot[];
  saleIds: readonly string[];
  shoppers: number;
  seed: number;
  adminPassword: string;
  stopped: () => boolean;
  /** The sale among `saleIds` with a waiting room: its shoppers join, wait, buy with the token. */
  queuedSaleId?: string;
}

export function adminCompletion(r: Reply): Completion {
  if (r.status === 200) return { type: 'ok', value: r.body.result?.data ?? null };
  const reason = reasonOf(r);
  if (reason && reason !== 'OUTCOME_UNKNOWN' && (r.status < 500 || r.status === 503))
    return { type: 'fail', reason };
  return { type: 'info', reason: reason ?? `HTTP ${r.status}` };
}

/**
 * A load balancer's passive health check: a server that left a call unanswered is avoided for
 * a while (unless every server is), so one stopped server does not hold every shopper; the
 * active one (`probe`) finds it sooner.
 */
const suspectUntil = new Map<string, number>();
const SUSPECT_MS = 2000;
function pickServer(servers: readonly Slot[], r: () => number): Slot {
  const t = Date.now();
  const healthy = servers.filter((s) => (suspectUntil.get(s.url) ?? 0) <= t);
  const from = healthy.length > 0 ? healthy : servers;
  return from[Math.floor(r() * from.length)] as Slot;
}

interface Ticket {
  state: string;
  admissionToken: string | null;
  tokenExpiresAt: string | null;
}

/** How long a shopper waits in the room before buying elsewhere meanwhile (keeping the place). */
const ROOM_PATIENCE_MS = 15_000;

/**
 * The waiting room as the shop page uses it: join, poll `queue.get` until admitted (joining
 * again when the room lost the place — NOT_IN_QUEUE after a Redis wipe — or the token expired),
 * and return the admission token; null when the shopper gave up for now or the sale cannot sell.
 */
async function admission(
  o: LoadOptions,
  process: string,
  client: ChaosClient,
  saleId: string,
  r: () => number,
): Promise<{ value: string; expiresAt: number } | null> {
  const until = Date.now() + ROOM_PATIENCE_MS;
  let joined = false;
  while (!o.stopped() && Date.now() < until) {
    const server = pickServer(o.servers(), r);
    const f = joined ? 'ticket' : 'join';
    let reply: Reply;
    try {
      reply = await o.history.record(
        process,
        { f, value: { saleId, userId: client.userId } },
        () =>
          f === 'join'
            ? client.mutate(server.url, 'queue.join', { saleId })
            : client.query(server.url, 'queue.get', { saleId }),
        adminCompletion,
      );
    } catch {
      suspectUntil.set(server.url, Date.now() + SUSPECT_MS);
      await sleep(100 + r() * 200);
      continue;
    }
    const reason = reasonOf(reply);
    if (reply.status === 200) {
      const t = (reply.body.result?.data ?? {}) as Ticket;
      if (f === 'join') joined = true;
      const expiresAt = Date.parse(t.tokenExpiresAt ?? '');
      if (t.state === 'admitted' && t.admissionToken && expiresAt > Date.now() + 1000)
        return { value: t.admissionToken, expiresAt };
      if (t.state === 'expired') joined = false;
      if (t.state === 'soldout' || t.state === 'ended') return null;
    } else if (reason === 'NOT_IN_QUEUE') {
      joined = false;
      continue;
    }
    await sleep(200 + r() * 200);
  }
  return null;
}

async function shopper(o: LoadOptions, i: number) {
  const r = rng(o.seed * 1000 + i);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const process = `shopper-${i}`;
  let client: ChaosClient | null = null;
  let purchases = 0;
  let n = 0;
  /** This session's admission token for the queued sale, with its expiry. */
  let token: { value: string; expiresAt: number } | null = null;
  while (!o.stopped()) {
    if (!client || purchases >= 3) {
      token = null;
      const c = new ChaosClient();
      const server = pickServer(o.servers(), r);
      try {
        await c.startSession(server.url);
        client = c;
        purchases = 0;
      } catch {
        suspectUntil.set(server.url, Date.now() + SUSPECT_MS);
        await sleep(200);
        continue;
      }
    }
    const saleId = pick(o.saleIds);
    let admissionToken: string | undefined;
    if (saleId === o.queuedSaleId) {
      if (!token || token.expiresAt < Date.now() + 1000) {
        token = await admission(o, process, client, saleId, r);
        // Not admitted within its patience: buy elsewhere meanwhile (the place stays).
        if (!token) continue;
      }
      admissionToken = token.value;
    }
    const input = {
      saleId,
      quantity: 1 + Math.floor(r() * 3),
      idempotencyKey: `${process}-${++n}-${o.seed}`,
      ...(admissionToken ? { admissionToken } : {}),
    };
    purchases++;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS && !o.stopped(); attempt++) {
      const server = pickServer(o.servers(), r);
      const shop = client;
      let reply: Reply | undefined;
      try {
        reply = await o.history.record(
          process,
          { f: 'place', value: { ...input, userId: shop.userId } },
          () => shop.mutate(server.url, 'order.place', input),
          placeCompletion,
        );
      } catch {
        // no answer (timeout, refused, reset): indeterminate, retried with the same key
        suspectUntil.set(server.url, Date.now() + SUSPECT_MS);
        await sleep(100 + r() * 200);
        continue;
      }
      const c = placeCompletion(reply);
      if (c.type === 'ok') break;
      if (c.type === 'fail' && !RETRYABLE.has(c.reason)) {
        if (c.reason === 'USER_LIMIT') purchases = 3;
        if (c.reason === 'NOT_ADMITTED') token = null;
        break;
      }
      const after = reply.body.error?.data?.retryAfterMs ?? 250;
      await sleep(Math.min(after, 1000) * (0.5 + r()));
    }
    await sleep(20 + r() * 80);
  }
}

/** Admin calls, each recorded; a lost admin session (Redis wiped) logs in again. */
export class Admin {
  private client = new ChaosClient(8000);
  private loggedIn = false;
  constructor(
    private readonly o: Pick<LoadOptions, 'history' | 'adminPassword'>,
    private readonly process = 'admin',
  ) {}

  private async login(server: Slot) {
    const r = await this.client.mutate(server.url, 'admin.login', { password: this.o.adminPassword });
    this.loggedIn = r.status === 200;
  }

  async call(
    server: Slot,
    path: string,
    input: { saleId: string; quantity?: number } | ({ id: string } & Record<string, unknown>),
  ): Promise<Reply | null> {
    if (!this.loggedIn) await this.login(server).catch(() => undefined);
    const f = (
      {
        'admin.pauseSale': 'pause',
        'admin.resumeSale': 'resume',
        'admin.restock': 'restock',
        'admin.flushCache': 'flush',
        'admin.createSale': 'createSale',
      } as const
    )[path as 'admin.pauseSale'];
    if (!f) throw new Error(`chaos admin: no history name for ${path}`);
    const op = { f, value: input } as Parameters<History['record']>[1];
    try {
      const reply = await this.o.history.record(
        this.process,
        op,
        () => this.client.mutate(server.url, path, input),
        adminCompletion,
      );
      if (reasonOf(reply) === 'NOT_ADMIN') this.loggedIn = false;
      return reply;
    } catch {
      return null;
    }
  }

  /** Tries until the call is answered 200 (for up to a minute), on any server in turn. */
  async until(servers: () => readonly Slot[], path: string, input: { saleId: string }) {
    for (let i = 0; i < 240; i++) {
      const list = servers();
      const reply = await this.call(list[i % list.length] as Slot, path, input);
      if (reply?.status === 200) return;
      await sleep(250);
    }
  }
}

async function adminLoop(o: LoadOptions, admin: Admin) {
  const r = rng(o.seed * 7919 + 1);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  while (!o.stopped()) {
    await sleep(2000 + r() * 3000);
    if (o.stopped()) break;
    const saleId = pick(o.saleIds);
    const action = r();
    if (action < 0.4) {
      await admin.call(pick(o.servers()), 'admin.pauseSale', { saleId });
      await sleep(500 + r() * 1500);
      // a sale is never left paused: the resume is retried until it is answered
      await admin.until(o.servers, 'admin.resumeSale', { saleId });
    } else if (action < 0.8) {
      await admin.call(pick(o.servers()), 'admin.restock', { saleId, quantity: 20 + Math.floor(r() * 200) });
    } else {
      await admin.call(pick(o.servers()), 'admin.flushCache', { saleId });
    }
  }
}

/**
 * A load balancer's active health check: every 250 ms, `GET /healthz` on each server with a
 * 400 ms deadline; one that does not answer is avoided until it does (a stopped server holds
 * only the calls already sent to it).
 */
async function probe(o: LoadOptions) {
  while (!o.stopped()) {
    await Promise.all(
      o.servers().map(async (s) => {
        const ok = await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(400) })
          .then(async (r) => {
            await r.body?.cancel();
            return r.ok;
          })
          .catch(() => false);
        if (!ok) suspectUntil.set(s.url, Date.now() + SUSPECT_MS);
        else if ((suspectUntil.get(s.url) ?? 0) > Date.now()) suspectUntil.delete(s.url);
      }),
    );
    await sleep(250);
  }
}

/** Runs shoppers and the admin until `stopped()`; resolves when every call has ended. */
export async function runLoad(o: LoadOptions, admin: Admin): Promise<void> {
  await Promise.all([
    ...Array.from({ length: o.shoppers }, (_, i) => shopper(o, i)),
    adminLoop(o, admin),
    probe(o),
  ]);
}
