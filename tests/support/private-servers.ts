import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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

async function privateServer(
  name: string,
  command: (port: number, dir: string) => [string, string[]],
  urlOf: (port: number) => string,
): Promise<PrivateServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `surge-${name}-`));
  let child: ChildProcess | null = null;
  const srv: PrivateServer = {
    url: urlOf(port),
    port,
    pid: () => child?.pid,
    async start() {
      const [cmd, args] = command(port, dir);
      child = spawn(cmd, args, { stdio: 'ignore' });
      await eventually(() => listening(port), 15_000, 50);
    },
    async stop(graceful = false) {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      await exited;
      await eventually(async () => !(await listening(port)), 10_000, 50);
    },
    async destroy() {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await srv.start();
  return srv;
}

export function privateNats(): Promise<PrivateServer> {
  return privateServer(
    'nats',
    (port, dir) => [bin('nats-server'), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir]],
    (port) => `nats://127.0.0.1:${port}`,
  );
}

export function privateRedis(): Promise<PrivateServer> {
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
        'no',
        '--dir',
        dir,
        '--maxmemory-policy',
        'noeviction',
      ],
    ],
    (port) => `redis://127.0.0.1:${port}`,
  );
}

/** Debian installs nats-server under /usr/sbin, which is not on every user's PATH. */
function bin(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin'])
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  return name;
}
