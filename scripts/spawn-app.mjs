// Starts a built Surge app (server, worker, or another bundle that answers /readyz) as a child
// process and waits until it is ready: the one implementation behind `npm start`, the
// integration tests, the e2e set-up and the bench. Plain Node, no dependencies — `npm start`
// loads it before `npm install` has run. Types: spawn-app.d.mts.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Each app's bundle, the variable that names its HTTP port (health, metrics) and its default. */
export const APPS = {
  server: { script: 'apps/server/dist/main.js', portVar: 'PORT', defaultPort: 3000 },
  worker: { script: 'apps/worker/dist/main.js', portVar: 'WORKER_PORT', defaultPort: 9464 },
};

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Apps this process spawned that have not exited yet (detached ones excepted). */
const live = new Set();

/** What an interrupted bench stops (bench/cleanup.ts). */
export function liveApps() {
  return [...live];
}
const TAIL_CHARS = 8000;

/**
 * Spawns the app and, unless `waitReady: false`, resolves once `GET <url>/readyz` answers 200
 * (it rejects with the process's last output when it exits first or is not ready in time).
 */
export async function spawnApp(o) {
  const known = o.app ? APPS[o.app] : undefined;
  if (o.app && !known) throw new Error(`spawnApp: unknown app ${o.app}`);
  const script = o.script ?? known?.script;
  if (!script) throw new Error('spawnApp: give `app` or `script`');
  const portVar = o.portVar ?? known?.portVar ?? 'PORT';
  const env = { ...(o.inheritEnv === false ? {} : process.env), ...o.env };
  if (o.port === 'free') env[portVar] = String(await freePort());
  else if (typeof o.port === 'number') env[portVar] = String(o.port);
  const port = Number(env[portVar] ?? known?.defaultPort ?? 0);
  const label = o.label ?? o.app ?? script;
  const stdio = o.detached ? 'ignore' : (o.stdio ?? 'capture');

  const child = spawn(
    process.execPath,
    [isAbsolute(script) ? script : join(ROOT, script), ...(o.args ?? [])],
    {
      cwd: o.cwd ?? ROOT,
      env,
      // `ownGroup`: its own process group (a terminal's Ctrl-C does not reach it), still
      // attached and with the stdio asked for; the caller passes on the signal it wants.
      detached: o.detached ?? o.ownGroup ?? false,
      stdio: stdio === 'capture' ? ['ignore', 'pipe', 'pipe'] : stdio,
    },
  );
  if (o.detached) child.unref();

  let tail = '';
  let warnings = [];
  // `logFile`: every line the process writes is also appended there (the tail stays bounded).
  const file = o.logFile ? createWriteStream(o.logFile, { flags: 'a' }) : undefined;
  const keep = (chunk) => {
    const text = chunk.toString('utf8');
    file?.write(text);
    tail = (tail + text).slice(-TAIL_CHARS);
    // pino lines at warn (40) and above, and anything that is not a log line.
    for (const line of text.split('\n'))
      if (line.trim() && !/^\{"level":(10|20|30),/.test(line)) warnings = [...warnings, line].slice(-5);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exit = '';
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exit = `exited with ${signal ?? `code ${code}`} at ${new Date().toISOString()}`;
      file?.end(`-- ${label} ${exit}\n`);
      resolve({ code, signal });
    });
  });
  let stopping = false;

  const app = {
    label,
    child,
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    exited,
    get stopping() {
      return stopping;
    },
    running: () => child.exitCode === null && child.signalCode === null,
    output: () => tail,
    warnings: () => warnings,
    report: () => `${label} ${exit || 'still running'}; its last output:\n${tail || '(none captured)'}`,
    ready: (timeoutMs = o.readyTimeoutMs ?? 30_000) => waitUntilReady(app, timeoutMs),
    /** SIGTERM (SIGKILL after `killAfterMs`) and wait for the exit. */
    async stop({ signal = 'SIGTERM', killAfterMs = 20_000 } = {}) {
      stopping = true;
      if (!app.running()) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exited;
      clearTimeout(timer);
    },
    /** A signal now (SIGKILL by default), then wait for the exit. */
    async kill(signal = 'SIGKILL') {
      stopping = true;
      if (!app.running()) return;
      child.kill(signal);
      await exited;
    },
  };
  if (!o.detached) {
    live.add(app);
    void exited.then(() => live.delete(app));
  }
  if (o.waitReady !== false) {
    try {
      await app.ready();
    } catch (err) {
      await app.kill();
      throw err;
    }
  }
  return app;
}

/**
 * Polls `GET <url>/readyz` every 100 ms until it answers 200. With a spawned app, fails at once
 * when the process exits, and names its last output either way.
 */
export async function waitUntilReady(target, timeoutMs = 30_000) {
  const app = typeof target === 'string' ? null : target;
  const url = typeof target === 'string' ? target : target.url;
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (app && !app.running()) throw new Error(`did not start: ${app.report()}`);
    const r = await fetch(`${url}/readyz`).catch(() => null);
    await r?.body?.cancel().catch(() => undefined);
    if (r?.status === 200) return;
    if (Date.now() > until)
      throw new Error(`not ready within ${timeoutMs / 1000} s: ${app ? app.report() : url}`);
    await sleep(100);
  }
}
