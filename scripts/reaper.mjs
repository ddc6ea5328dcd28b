// The reaper of `npm run cluster`: the script's processes live in their own process groups (a
// Ctrl-C must reach only the script, which then drains the apps before stopping the stores), so
// if the script itself dies without stopping them — SIGKILL, a crash, an OOM kill — nothing else
// would. This process, in a group of its own, reads the script's lines on stdin:
//   app <pid> | infra <pid>   a process that leads its own group, to stop if the script dies
//   gone <pid>                that process has exited (its PID may be reused: never signal it)
//   stopping                  the script has sent the apps their one SIGTERM (a second would
//                             make them skip their drain)
//   done                      the script has stopped everything itself
// If stdin ends without `done`, the script is gone: the reaper stops the apps first (SIGTERM
// unless the script already sent it, SIGKILL after the apps' grace), then the infrastructure
// (SIGTERM, SIGKILL after its grace) — the order of the script's own stop. A group counts as
// stopped when none of its processes is left but zombies.
// Plain Node, no dependencies. Started by startReaper (below).
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Starts the reaper and returns how to talk to it: `watch(kind, pid)` for a process that leads
 * its own group, `forget(pid)` once it has exited, `stopping()` once the apps have had their
 * SIGTERM, `done()` once everything has been stopped by the caller. `logFile`: where the reaper
 * says what it did (nothing is written unless it has to act).
 */
export function startReaper({ appGraceMs = 30_000, infraGraceMs = 10_000, logFile = '' } = {}) {
  const args = [fileURLToPath(import.meta.url), String(appGraceMs), String(infraGraceMs), logFile];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.unref();
  // The reaper gone (killed by hand) must not take the script with it.
  child.stdin.on('error', () => undefined);
  const send = (line) => {
    if (child.stdin.writable) child.stdin.write(`${line}\n`);
  };
  return {
    pid: child.pid,
    watch(kind, pid) {
      if (pid !== undefined) send(`${kind} ${pid}`);
    },
    forget(pid) {
      if (pid !== undefined) send(`gone ${pid}`);
    },
    stopping() {
      send('stopping');
    },
    done() {
      send('done');
      child.stdin.end();
    },
  };
}

/** PIDs of the live (not zombie) processes whose process group is `pgid`, from /proc. */
function members(pgid) {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so after the last ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') found.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

const signalGroup = (pgid, signal) => {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone already
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM to every group (unless `termSent`), then SIGKILL to those with a process left after `graceMs`. */
async function stopGroups(pgids, graceMs, termSent, log) {
  const left = () => pgids.filter((g) => members(g).length > 0);
  if (!termSent) for (const g of left()) signalGroup(g, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (left().length > 0 && Date.now() < until) await sleep(100);
  for (const g of left()) {
    log(`group ${g} still running after ${graceMs} ms: SIGKILL`);
    signalGroup(g, 'SIGKILL');
  }
}

async function main(appGraceMs, infraGraceMs, logFile) {
  const log = (line) => {
    if (logFile) appendFileSync(logFile, `${new Date().toISOString()} reaper: ${line}\n`);
  };
  const groups = { app: new Set(), infra: new Set() };
  let done = false;
  let stopping = false;
  let buffered = '';
  const take = (line) => {
    const [word, arg] = line.trim().split(/\s+/);
    const pid = Number(arg);
    if (word === 'done') done = true;
    else if (word === 'stopping') stopping = true;
    else if (!Number.isInteger(pid) || pid <= 0) return;
    else if (word === 'app' || word === 'infra') groups[word].add(pid);
    else if (word === 'gone') for (const set of Object.values(groups)) set.delete(pid);
  };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) take(line);
  });
  await new Promise((resolve) => process.stdin.once('end', resolve).once('close', resolve));
  if (buffered) take(buffered);
  if (done) return;
  log(
    `the script is gone without stopping its processes: apps ${[...groups.app].join(' ') || '-'}, ` +
      `then infrastructure ${[...groups.infra].join(' ') || '-'}`,
  );
  await stopGroups([...groups.app], appGraceMs, stopping, log);
  await stopGroups([...groups.infra], infraGraceMs, false, log);
  log('done');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Its own group: a Ctrl-C at the terminal or a signal to the script's group leaves it to its job.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  await main(Number(process.argv[2] ?? 30_000), Number(process.argv[3] ?? 10_000), process.argv[4] ?? '');
  process.exit(0);
}
