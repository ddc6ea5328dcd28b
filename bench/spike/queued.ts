/**
 * The queued parts of `npm run bench:spike` (run.ts): the `live.queue` fan-out on its own, and
 * run B — everyone joins in the 2 s before the start (the start is set 2 s after the join phase
 * begins; whoever has not joined by then lines up after, in arrival order), 5,000 of the crowd
 * follow `live.queue` over SSE from separate processes (followers.ts), the rest poll `queue.get`,
 * and each buys with the token once admitted.
 */
import { readFileSync } from 'node:fs';
import { cpuSeconds } from '../probes.ts';
import { call, parallel, rankCorrelation, Timeline } from './crowd.ts';
import { Followers, failedText, PER_ADDRESS, rssNow } from './followers.ts';

export interface SpikeContext {
  url: string;
  pid: number;
  cookies: string[];
  crowd: number;
  stock: number;
  conn: number;
  rate: number;
  followers: number;
  followerProcesses: number;
  maxRunS: number;
  /** The shared Redis's process when it runs on this machine (its CPU is measured), else null. */
  redisPid: number | null;
  createSale(o: Record<string, unknown>): Promise<void>;
  sampleLoop(saleId: string, tl: Timeline, done: () => boolean): Promise<void>;
  report(
    name: string,
    tl: Timeline,
    startsMs: number,
    soldOutMs: number | null,
    cpu0: number,
    bought: boolean[],
    order: number[],
    extra: string[],
  ): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;
const FANOUT_S = 5;

function shuffled<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

/** Which shoppers follow `live.queue` (every stride-th, so they are spread over the join order). */
const followerStride = (c: SpikeContext) => Math.max(1, Math.round(c.crowd / c.followers));

const streamsLine = (c: SpikeContext, n: number) =>
  `${n} SSE streams from ${c.followerProcesses} client processes, each stream from its own source address in 127.0.0.0/8 (${PER_ADDRESS} per address; SSE_MAX_PER_IP kept at its default)`;

/**
 * The fan-out alone: the followers join an already started queued sale admitting 50/s (so every
 * waiting ticket changes each tick), open their streams, and for 5 s the server does nothing
 * else: frames/s, the server's CPU per frame, and its RSS before and with the streams.
 */
export async function fanOut(c: SpikeContext): Promise<void> {
  await c.createSale({
    id: 'spike-f',
    totalStock: 1_000_000,
    perUserLimit: 1,
    queue: { admitPerSecond: 50 },
  });
  const stride = followerStride(c);
  const who = Array.from({ length: c.crowd }, (_, u) => u).filter((u) => u % stride === 0);
  await parallel(c.conn, async (w) => {
    for (let i = w; i < who.length; i += c.conn)
      await call(
        c.url,
        null,
        'queue.join',
        'mutation',
        { saleId: 'spike-f' },
        c.cookies[who[i] as number] as string,
      );
  });
  const rss0 = rssNow(c.pid);
  const f = await Followers.start(c.followerProcesses);
  f.follow(
    c.url,
    'spike-f',
    who.map((u) => ({ u, cookie: c.cookies[u] as string })),
  );
  // Until every stream has opened (or failed), at most 60 s, then a second more.
  const opening = Date.now();
  while (f.settledStreams() < who.length && Date.now() - opening < 60_000) await sleep(250);
  const openS = (Date.now() - opening) / 1000;
  await sleep(1000);
  const cpu0 = cpuSeconds(c.pid);
  const from = Date.now();
  await sleep(FANOUT_S * 1000);
  const cpu = cpuSeconds(c.pid) - cpu0;
  const seconds = (Date.now() - from) / 1000;
  const frames = f.framesSince(from);
  const rss1 = rssNow(c.pid);
  const done = await f.stop();
  console.log(
    `\nlive.queue fan-out alone (${FANOUT_S} s; a queued sale admitting 50/s, so every ticket changes each tick):`,
  );
  console.log(
    `  ${streamsLine(c, who.length)}: ${done.opened} opened in ${openS.toFixed(1)} s (${(done.opened / openS).toFixed(0)}/s), ${done.refused} refused, ${failedText(done)}`,
  );
  console.log(
    `  ${(frames / seconds).toFixed(0)} frames/s; server CPU ${((100 * cpu) / seconds).toFixed(0)} % of a core = ${((cpu * 1e6) / Math.max(1, frames)).toFixed(1)} µs per frame; RSS ${(rss0 / MiB).toFixed(0)} MiB before the streams, ${(rss1 / MiB).toFixed(0)} MiB with them (${((((rss1 - rss0) / Math.max(1, done.opened)) * 1024) / MiB).toFixed(1)} KiB per stream)`,
  );
}

export async function runB(c: SpikeContext): Promise<void> {
  const { url, crowd, conn, cookies } = c;
  const stride = followerStride(c);
  const follows = (u: number) => u % stride === 0;
  const f = await Followers.start(c.followerProcesses);
  // A follower whose stream could not open (or broke) polls queue.get instead (the buyers' pool).
  const lost: number[] = [];
  let lostTotal = 0;
  f.onLost = (u) => {
    lostTotal++;
    lost.push(u);
  };
  // The start 2 s after the joins begin; the sale is made well before (its creation may be slow
  // while the fan-out's streams are still being torn down).
  const startsMs = Date.now() + 10_000;
  const joinStartMs = startsMs - 2000;
  await c.createSale({
    id: 'spike-b',
    totalStock: c.stock,
    perUserLimit: 1,
    startsAt: new Date(startsMs).toISOString(),
    queue: { admitPerSecond: c.rate },
  });
  await sleep(Math.max(0, joinStartMs - Date.now()));
  const tl = new Timeline();
  f.t0 = tl.t0;
  const bought = new Array<boolean>(crowd).fill(false);
  const joinOrder = new Array<number>(crowd).fill(crowd);
  const preStart = new Array<boolean>(crowd).fill(false);
  const doneUser = new Array<boolean>(crowd).fill(false);
  let joins = 0;
  let joinedBeforeStart = 0;
  let soldOutMs: number | null = null;
  // The run's time limit counts from the start, or from the last join when joins outlast it.
  let limitFromMs = startsMs;
  const end = () =>
    (soldOutMs !== null && Date.now() > soldOutMs + 1000) || Date.now() > limitFromMs + c.maxRunS * 1000;
  const sampling = c.sampleLoop('spike-b', tl, end);
  const cpu0 = cpuSeconds(c.pid);

  // Joins: every connection joins its shoppers; a follower's stream opens once it has joined.
  let toFollow: { u: number; cookie: string }[] = [];
  const flush = () => {
    if (toFollow.length > 0) f.follow(url, 'spike-b', toFollow);
    toFollow = [];
  };
  const flusher = setInterval(flush, 100);
  // Who spends the machine's two cores while the crowd joins: CPU of each process, sampled at
  // the join phase's start, at the sale's start and when the last join is answered.
  const cpuNow = () => ({
    server: cpuSeconds(c.pid),
    redis: c.redisPid === null ? Number.NaN : cpuSeconds(c.redisPid),
    bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    followers: f.pids().reduce((s, p) => s + cpuSeconds(p), 0),
    machine: machineBusySeconds(),
    atMs: Date.now(),
    joins: 0,
  });
  const cpuJoin0 = cpuNow();
  let cpuAtStart: ReturnType<typeof cpuNow> | null = null;
  const atStart = setTimeout(
    () => {
      cpuAtStart = { ...cpuNow(), joins };
    },
    Math.max(0, startsMs - Date.now()),
  );
  await parallel(conn, async (w) => {
    for (let u = w; u < crowd; u += conn) {
      const a = await call(url, tl, 'queue.join', 'mutation', { saleId: 'spike-b' }, cookies[u] as string);
      if (a.status !== 200) continue;
      joinOrder[u] = joins++;
      if (Date.now() < startsMs) {
        joinedBeforeStart++;
        preStart[u] = true;
      }
      if (follows(u)) toFollow.push({ u, cookie: cookies[u] as string });
    }
  });
  clearInterval(flusher);
  clearTimeout(atStart);
  const cpuJoin1 = { ...cpuNow(), joins };
  flush();
  limitFromMs = Math.max(startsMs, Date.now());
  const joinS = (Date.now() - tl.t0) / 1000;
  const joinLine =
    `joins: ${joins} in ${joinS.toFixed(1)} s = ${(joins / joinS).toFixed(0)} joins/s; ${joinedBeforeStart} of ${crowd} fit in the 2 s before the start` +
    (joinedBeforeStart < crowd
      ? ` (this machine does not fit ${crowd}: the rest lined up after them, in arrival order)`
      : '');
  console.log(`\nRun B: ${joinLine}; admitPerSecond ${c.rate}`);
  const cpuLines = [
    cpuLine('the 2 s before the start', cpuJoin0, cpuAtStart ?? cpuJoin1),
    cpuLine('the whole join phase', cpuJoin0, cpuJoin1),
  ];
  for (const l of cpuLines) console.log(`  ${l}`);

  // Followers learn of their admission from their stream; a pool buys for them.
  const admitted: { u: number; token: string }[] = [];
  f.onAdmitted = (u, token) => admitted.push({ u, token });
  f.onSoldOut = () => {
    soldOutMs ??= Date.now();
  };
  const buy = async (u: number, token: string) => {
    const a = await call(
      url,
      tl,
      'order.place',
      'mutation',
      { saleId: 'spike-b', quantity: 1, idempotencyKey: `spike-b-${u}`, admissionToken: token },
      cookies[u] as string,
    );
    if (a.status === 200) bought[u] = true;
    if (a.reason === 'SOLD_OUT') soldOutMs ??= Date.now();
    doneUser[u] = a.status === 200 || a.reason === 'SOLD_OUT' || a.reason === 'USER_LIMIT';
  };
  const followerBuyers = parallel(Math.max(1, Math.round(conn / 4)), async () => {
    while (!end()) {
      const next = admitted.shift();
      if (next) await buy(next.u, next.token);
      else if (lost.length > 0) {
        const u = lost.shift() as number;
        if (doneUser[u]) continue;
        const t = await call(url, tl, 'queue.get', 'query', { saleId: 'spike-b' }, cookies[u] as string);
        if (t.data?.state === 'admitted') await buy(u, t.data.admissionToken);
        else if (t.data?.state === 'soldout') soldOutMs ??= Date.now();
        else lost.push(u);
      } else await sleep(10);
    }
  });
  // Pollers: each connection polls its (non-following) shoppers in a random order — the bench's
  // own polling order must not correlate with the join order (that would be its bias, not the room's).
  const pollers = parallel(conn, async (w) => {
    const mine = shuffled(
      Array.from({ length: Math.ceil((crowd - w) / conn) }, (_, i) => w + i * conn).filter(
        (u) => !follows(u),
      ),
    );
    while (!end()) {
      let pending = 0;
      for (const u of mine) {
        if (end()) break;
        if (doneUser[u]) continue;
        pending++;
        const t = await call(url, tl, 'queue.get', 'query', { saleId: 'spike-b' }, cookies[u] as string);
        if (t.data?.state === 'admitted') await buy(u, t.data.admissionToken);
        else if (t.data?.state === 'soldout') soldOutMs ??= Date.now();
      }
      if (pending === 0) break;
    }
  });
  await Promise.all([pollers, followerBuyers]);
  await sampling;
  const fromStart = f.framesSince(startsMs);
  const runS = (Date.now() - startsMs) / 1000;
  const done = await f.stop();
  const early = joinOrder.map((_, u) => u).filter((u) => preStart[u]);
  const rhoEarly = rankCorrelation(
    early.map((u) => joinOrder[u] as number),
    early.map((u) => (bought[u] ? 1 : 0)),
  );
  await c.report('Run B (queued)', tl, startsMs, soldOutMs, cpu0, bought, joinOrder, [
    joinLine,
    ...cpuLines,
    `fairness among the ${early.length} who joined before the start (a random place each): ${early.filter((u) => bought[u]).length} bought; Spearman ρ(join order, bought) = ${rhoEarly.toFixed(3)}; over everyone (below) the latecomers' arrival order counts too`,
    `live.queue: ${streamsLine(c, Math.ceil(crowd / stride))}: ${done.opened} opened, ${done.refused} refused, ${failedText(done)}; ${done.frames} frames, ${(fromStart / runS).toFixed(0)} frames/s from the start to the end of the run; ${lostTotal} whose stream failed polled queue.get instead, as do the other shoppers`,
  ]);
}

/** CPU time of the whole machine (every core, every process) not idle, from /proc/stat. */
function machineBusySeconds(): number {
  const [, user, nice, system, , , irq, softirq, steal] = (
    readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  )
    .trim()
    .split(/\s+/)
    .map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

interface CpuSample {
  machine: number;
  server: number;
  redis: number;
  bench: number;
  followers: number;
  atMs: number;
  joins: number;
}

/** "CPU over <what> (n joins in s): server x % of a core (y µs per join), …" */
function cpuLine(what: string, a: CpuSample, b: CpuSample): string {
  const s = Math.max(0.001, (b.atMs - a.atMs) / 1000);
  const n = b.joins - a.joins;
  const part = (name: string, cpu: number) =>
    Number.isNaN(cpu)
      ? `${name} not measured`
      : `${name} ${((100 * cpu) / s).toFixed(0)} % (${n > 0 ? ((cpu * 1e6) / n).toFixed(0) : '—'} µs/join)`;
  // Answers counted up to the sample, which a timer takes a few ms after the start: the joins
  // here may exceed those that "fit in the 2 s before the start" (answered before it).
  return `CPU over ${what} (${n} joins answered in the ${s.toFixed(2)} s to the sample; % of one core): ${[
    part('server', b.server - a.server),
    part('Redis', b.redis - a.redis),
    part('bench client', b.bench - a.bench),
    part('followers', b.followers - a.followers),
    part(
      'everything else on the machine',
      b.machine -
        a.machine -
        (b.server - a.server) -
        (b.bench - a.bench) -
        (b.followers - a.followers) -
        (Number.isNaN(b.redis) ? 0 : b.redis - a.redis),
    ),
  ].join(', ')}`;
}
