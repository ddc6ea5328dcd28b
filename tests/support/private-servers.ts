import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from './services.ts';

/**
 * Private server instances for fault tests: each on a free port with its data under a temp
 * folder, started and killed by PID — the machine's shared servers are never touched.
 */
export interface PrivateServer {
  url: string;
  port: number;
  pid(): number | undefined;
  start(): Promise<void>;
  /** SIGKILL by PID (or SIGTERM when `graceful`); data stays for a restart. */
  stop(graceful?: boolean): Promise<void>;
  /** Stops and deletes the data folder. */
  destroy(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Whether `pid` is the process listening on `port`. Tests of several checkouts may run at once:
 * a free port can be taken by another run's server between `freePort()` and our bind, and a
 * mere "something listens" would then hand this test someone else's server (to SIGSTOP…).
 */
export function listensOn(pid: number | undefined, port: number): boolean {
  if (pid === undefined) return false;
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    return out.includes(`pid=${pid},`);
  } catch {
    return false;
  }
}

export async function privateServer(
  name: string,
  command: (port: number, dir: string) => [string, string[]],
  urlOf: (port: number) => string,
  o: {
    /** How a free port is found (a Redis Cluster node needs its bus port, +10000, free too). */
    pickPort?: () => Promise<number>;
    /** Variables set over this process's environment for the server. */
    env?: Record<string, string>;
  } = {},
): Promise<PrivateServer> {
  const { pickPort = freePort, env } = o;
  const dir = mkdtempSync(join(tmpdir(), `surge-${name}-`));
  let child: ChildProcess | null = null;
  let started = false;
  const srv: PrivateServer = {
    url: '',
    port: 0,
    pid: () => child?.pid,
    async start() {
      // The first start may move to another free port if its port was taken meanwhile; a
      // restart keeps its port (clients reconnect to it) and fails if it cannot have it.
      for (let attempt = 0; ; attempt++) {
        if (!started && attempt > 0) srv.port = await pickPort();
        srv.url = urlOf(srv.port);
        const [cmd, args] = command(srv.port, dir);
        const c = spawn(cmd, args, { stdio: 'ignore', env: env ? { ...process.env, ...env } : process.env });
        child = c;
        const exited = () => c.exitCode !== null || c.signalCode !== null;
        await eventually(async () => exited() || listensOn(c.pid, srv.port), 15_000, 50);
        if (!exited()) {
          started = true;
          return;
        }
        if (started || attempt >= 4) throw new Error(`${name}: could not listen on port ${srv.port}`);
      }
    },
    async stop(graceful = false) {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      await exited;
      await eventually(async () => !(await listening(srv.port)), 10_000, 50);
    },
    async destroy() {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  srv.port = await pickPort();
  await srv.start();
  return srv;
}

/** `config`: a nats-server configuration file (deploy/nats.conf), `env` the variables it reads. */
export function privateNats(
  opts: { config?: string; env?: Record<string, string> } = {},
): Promise<PrivateServer> {
  return privateServer(
    'nats',
    (port, dir) => [
      bin('nats-server'),
      [...(opts.config ? ['-c', opts.config] : []), '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    ],
    (port) => `nats://127.0.0.1:${port}`,
    { env: opts.env },
  );
}

/** `aof`: persist with an append-only file (fsync always), so a restart keeps the data. */
export function privateRedis(opts: { aof?: boolean; args?: string[] } = {}): Promise<PrivateServer> {
  return privateServer(
    'redis',
    (port, dir) => [
      bin('redis-server'),
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        opts.aof ? 'yes' : 'no',
        '--appendfsync',
        'always',
        '--dir',
        dir,
        '--maxmemory-policy',
        'noeviction',
        ...(opts.args ?? []),
      ],
    ],
    (port) => `redis://127.0.0.1:${port}`,
  );
}

/** Debian installs nats-server under /usr/sbin, which is not on every user's PATH. */
export function bin(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin'])
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  return name;
}

/**
 * A private PostgreSQL cluster (initdb in a temp folder, trust auth, a free port). PostgreSQL
 * refuses to run as root, so as root it runs as the `postgres` user. `stop()` kills
 * the postmaster by the PID in its pid file — never the machine's own cluster.
 */
export async function privatePostgres(): Promise<PrivateServer & { adminUrl: string }> {
  const pgBin = `/usr/lib/postgresql/${readdirSync('/usr/lib/postgresql').sort().at(-1)}/bin`;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'surge-pg-'));
  const asRoot = process.getuid?.() === 0;
  const pgUid = asRoot
    ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    : undefined;
  const pgGid = asRoot
    ? Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    : undefined;
  if (pgUid !== undefined && pgGid !== undefined) chownSync(dir, pgUid, pgGid);
  const data = join(dir, 'data');
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' })
      : execFileSync(cmd, args, { stdio: 'ignore' });
  run(`${pgBin}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const pidOf = () => {
    try {
      return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  const srv = {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    pid: pidOf,
    async start() {
      run(`${pgBin}/pg_ctl`, [
        '-D',
        data,
        '-l',
        join(dir, 'pg.log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        '-w',
        'start',
      ]);
      await eventually(() => listening(port), 15_000, 50);
    },
    async stop() {
      const pid = pidOf();
      if (!pid) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
      await eventually(async () => !(await listening(port)), 10_000, 50);
      // The killed postmaster's children exit on their own once it is gone.
      await eventually(
        async () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        },
        10_000,
        50,
      );
      rmSync(join(data, 'postmaster.pid'), { force: true });
    },
    async destroy() {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await srv.start();
  return srv;
}

/** One node of a private NATS cluster: a PrivateServer with its server name. */
export interface PrivateNatsNode extends PrivateServer {
  name: string;
}

/**
 * A private 3-node NATS cluster with JetStream (nats-server 2.9 clustering): each node on free
 * client and route ports with its own store folder; `url` lists every node, as a client's
 * NATS_URL does. JetStream elects its meta leader once all three are up, which happens after
 * this resolves: code under test must cope with a cluster that is still settling.
 */
export async function privateNatsCluster(size = 3): Promise<{
  url: string;
  nodes: PrivateNatsNode[];
  /** The node leading a stream (by its server name), once the stream has a leader. */
  leaderOf(stream: string): Promise<PrivateNatsNode | undefined>;
  /**
   * Resolves once `node` is back in `stream`'s replica set, current and with lag 0 as the
   * stream's leader reports it (stream info, cluster.replicas): it rejoined and caught up.
   */
  caughtUp(stream: string, node: PrivateNatsNode, timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}> {
  const cluster = `surge-${Math.random().toString(36).slice(2, 8)}`;
  const routes = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routeList = routes.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const nodes = await Promise.all(
    routes.map(async (route, i) => {
      const name = `${cluster}-n${i + 1}`;
      const srv = await privateServer(
        `nats-${i + 1}`,
        (port, dir) => [
          bin('nats-server'),
          [
            '-a',
            '127.0.0.1',
            '-p',
            String(port),
            '-js',
            '-sd',
            dir,
            '-n',
            name,
            '--cluster_name',
            cluster,
            '--cluster',
            `nats://127.0.0.1:${route}`,
            '--routes',
            routeList,
          ],
        ],
        (port) => `nats://127.0.0.1:${port}`,
      );
      return Object.assign(srv, { name });
    }),
  );
  /** The stream's cluster info (leader, replicas) as its leader reports it. */
  const streamCluster = async (stream: string) => {
    if (!nodes.some((n) => n.pid() !== undefined)) return undefined;
    const { connect: natsConnect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const nc = await natsConnect({ servers: nodes.map((n) => n.url), timeout: 2000 });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2000, checkAPI: false });
      return (await jsm.streams.info(stream)).cluster;
    } finally {
      await nc.close();
    }
  };
  return {
    url: nodes.map((n) => n.url).join(','),
    nodes,
    async leaderOf(stream: string) {
      const info = await streamCluster(stream);
      return nodes.find((n) => n.name === info?.leader);
    },
    async caughtUp(stream: string, node: PrivateNatsNode, timeoutMs = 60_000) {
      await eventually(
        async () => {
          const info = await streamCluster(stream);
          if (info?.leader === node.name) return true; // it leads again: it is the reference
          const r = info?.replicas?.find((x) => x.name === node.name);
          return r?.current === true && !r.offline && (r.lag ?? 0) === 0;
        },
        timeoutMs,
        100,
      );
    },
    async destroy() {
      await Promise.all(nodes.map((n) => n.destroy()));
    },
  };
}

/**
 * A private HAProxy (Debian's package) on a free port balancing `servers` (their ports) with
 * the configuration `npm run cluster` uses (scripts/haproxy.mjs): /readyz health checks,
 * retries on connection failure, X-Forwarded-For.
 */
export async function privateHaproxy(serverPorts: number[]): Promise<PrivateServer> {
  const { haproxyBinary, haproxyConfig, HAPROXY_MISSING } = await import('../../scripts/haproxy.mjs');
  const binary = haproxyBinary();
  if (!binary) throw new Error(HAPROXY_MISSING);
  const servers = serverPorts.map((port, i) => ({ name: `s${i + 1}`, port }));
  return privateServer(
    'haproxy',
    (port, dir) => {
      const cfg = join(dir, 'haproxy.cfg');
      writeFileSync(cfg, haproxyConfig({ port, servers }));
      return [binary, ['-f', cfg, '-db']];
    },
    (port) => `http://127.0.0.1:${port}`,
  );
}
