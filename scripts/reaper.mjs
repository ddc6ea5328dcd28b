// The reaper of `npm run cluster`: the script's processes live in their own process groups (a
// Ctrl-C must reach only the script, which then drains the apps before stopping the stores), so
// if the script itself dies without stopping them — SIGKILL, a crash, an OOM kill — nothing else
// would. This process, in a group of its own, reads the script's registrations on stdin, one a
// line: `app <pid>` or `infra <pid>` (each the leader of its group), and `done` once the script
// has stopped everything itself. If stdin ends without `done`, the script is gone: it stops the
// apps first (SIGTERM to each group, SIGKILL after the apps' grace), then the infrastructure
// (SIGTERM, SIGKILL after its grace), the order the script's own stop keeps.
// Plain Node, no dependencies. Started by startReaper (below).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Starts the reaper and returns how to register with it: `watch(kind, pid)` for a process that
 * leads its own group, `done()` once they have all been stopped by the caller.
 */
export function startReaper({ appGraceMs = 30_000, infraGraceMs = 10_000 } = {}) {
  const args = [fileURLToPath(import.meta.url), String(appGraceMs), String(infraGraceMs)];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.unref();
  const send = (line) => {
    if (child.stdin.writable) child.stdin.write(`${line}\n`);
  };
  return {
    pid: child.pid,
    watch(kind, pid) {
      if (pid !== undefined) send(`${kind} ${pid}`);
    },
    done() {
      send('done');
      child.stdin.end();
    },
  };
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};
const signalGroup = (pid, signal) => {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM to every group, then SIGKILL to those whose leader is still alive after `graceMs`. */
async function stopGroups(pids, graceMs) {
  for (const pid of pids) signalGroup(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < until) await sleep(100);
  for (const pid of pids) if (alive(pid)) signalGroup(pid, 'SIGKILL');
}

async function main(appGraceMs, infraGraceMs) {
  const groups = { app: [], infra: [] };
  let done = false;
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, pid] = line.trim().split(/\s+/);
      if (kind === 'done') done = true;
      else if ((kind === 'app' || kind === 'infra') && Number.isInteger(Number(pid)) && Number(pid) > 0)
        groups[kind].push(Number(pid));
    }
  });
  await new Promise((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  if (done) return;
  await stopGroups(groups.app, appGraceMs);
  await stopGroups(groups.infra, infraGraceMs);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Its own group: a Ctrl-C at the terminal or a signal to the script's group leaves it to its job.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  await main(Number(process.argv[2] ?? 30_000), Number(process.argv[3] ?? 10_000));
  process.exit(0);
}
