import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { bin, listensOn, type PrivateServer, privateServer } from './private-servers.ts';
import { eventually } from './services.ts';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free port P below 55535 whose cluster bus port P + 10000 is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port;
  }
}

/** One node of a private Redis Cluster. */
export interface PrivateRedisNode extends PrivateServer {
  /** Sends SIGSTOP / SIGCONT to the node's process (a stalled node). */
  pause(): void;
  resume(): void;
}

/**
 * A private Redis Cluster: `primaries` primaries with one replica
 * each, no persistence, `cluster-node-timeout` `nodeTimeoutMs` (a failover within a few
 * seconds) and failover allowed however long a replica was cut off, joined by `redis-cli
 * --cluster create`. `url` lists every node, as REDIS_URL does with REDIS_CLUSTER=true.
 */
export async function privateRedisCluster(o: { primaries?: number; nodeTimeoutMs?: number } = {}): Promise<{
  url: string;
  nodes: PrivateRedisNode[];
  /** The node serving `key`'s slot as primary now, and its live replica (none when not `needReplica`). */
  roles(
    key: string,
    needReplica?: boolean,
  ): Promise<{ primary: PrivateRedisNode; replica: PrivateRedisNode }>;
  /** Waits until every live node reports cluster_state:ok and `key`'s slot has a live primary. */
  healthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}> {
  const count = (o.primaries ?? 3) * 2;
  const nodes: PrivateRedisNode[] = [];
  for (let i = 0; i < count; i++) {
    const srv = await privateServer(
      `redis-cluster-${i + 1}`,
      (port, dir) => [
        bin('redis-server'),
        [
          '--bind',
          '127.0.0.1',
          '--port',
          String(port),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, 'nodes.conf'),
          '--cluster-node-timeout',
          String(o.nodeTimeoutMs ?? 1000),
          '--cluster-replica-validity-factor',
          '0',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--maxmemory-policy',
          'noeviction',
        ],
      ],
      (port) => `redis://127.0.0.1:${port}`,
      freeClusterPort,
    );
    // Signals go to the node's own PID only, and SIGCONT only to a node this helper stopped.
    let paused: number | undefined;
    nodes.push(
      Object.assign(srv, {
        pause() {
          const pid = srv.pid();
          if (pid === undefined) throw new Error('node not running');
          process.kill(pid, 'SIGSTOP');
          paused = pid;
        },
        resume() {
          if (paused !== undefined) process.kill(paused, 'SIGCONT');
          paused = undefined;
        },
      }),
    );
  }
  const cli = (port: number, ...args: string[]) =>
    execFileSync(bin('redis-cli'), ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
  execFileSync(
    bin('redis-cli'),
    [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ],
    { stdio: 'ignore', timeout: 60_000 },
  );
  const alive = (n: PrivateServer) => {
    const pid = n.pid();
    return pid !== undefined && listensOn(pid, n.port);
  };
  const cluster = {
    url: nodes.map((n) => n.url).join(','),
    nodes,
    async roles(key: string, needReplica = true) {
      const slot = Number(
        cli((nodes.find(alive) ?? (nodes[0] as PrivateRedisNode)).port, 'CLUSTER', 'KEYSLOT', key).trim(),
      );
      for (const n of nodes.filter(alive)) {
        const lines = cli(n.port, 'CLUSTER', 'NODES').trim().split('\n');
        const primaryLine = lines.find((l) => {
          const f = l.split(' ');
          return (
            f[2]?.includes('master') &&
            !f[2].includes('fail') &&
            f.slice(8).some((r) => {
              const [a, b] = r.split('-').map(Number);
              return a !== undefined && slot >= a && slot <= (b ?? a);
            })
          );
        });
        if (!primaryLine) continue;
        const [id, addr] = primaryLine.split(' ');
        const replicaLine = lines.find((l) => l.split(' ')[3] === id && !l.split(' ')[2]?.includes('fail'));
        const byAddr = (a: string | undefined) => nodes.find((x) => a?.startsWith(`127.0.0.1:${x.port}@`));
        const primary = byAddr(addr);
        const replica = byAddr(replicaLine?.split(' ')[1]);
        if (primary && (replica || !needReplica)) return { primary, replica: replica as PrivateRedisNode };
      }
      throw new Error(`no primary and replica known for ${key} (slot ${slot})`);
    },
    async healthy(timeoutMs = 30_000) {
      await eventually(
        async () =>
          nodes.filter(alive).every((n) => {
            try {
              return cli(n.port, 'CLUSTER', 'INFO').includes('cluster_state:ok');
            } catch {
              return false;
            }
          }),
        timeoutMs,
        100,
      );
    },
    async destroy() {
      for (const n of nodes) {
        try {
          n.resume();
        } catch {
          // already gone
        }
      }
      // A SIGSTOPped process takes its SIGKILL all the same.
      await Promise.all(nodes.map((n) => n.destroy()));
    },
  };
  await cluster.healthy();
  return cluster;
}
