import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.ts';
import { eventually, sleep } from '../support/services.ts';

/**
 * scripts/reaper.mjs, as `npm run cluster` uses it: a parent registers processes that lead their
 * own groups (so a Ctrl-C reaches only the parent). If the parent is SIGKILLed, the reaper stops
 * them — the apps first with SIGTERM (they drain), then the infrastructure, SIGKILL after the
 * grace for whoever ignores SIGTERM — but never an app a second time once the parent said it had
 * sent the SIGTERM, never a process the parent said is gone (its PID may be reused), and nothing
 * at all once the parent said `done`.
 */
const dir = mkdtempSync(join(tmpdir(), 'surge-reaper-'));
const leftovers = new Set<number>();
const parents = new Set<ChildProcess>();
afterAll(() => {
  // A failed test may leave its parent (and so its reaper) running, and children alive.
  for (const p of parents) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const pid of leftovers) if (alive(pid)) process.kill(-pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * How a child answers SIGTERM, writing what happened into `<dir>/<case>.<name>` (one JSON line per
 * SIGTERM: when, and whether the case's `app` file existed then): `exit` at once; `ignore` it;
 * `drain` for 1 s, then exit.
 */
type Behaviour = 'exit' | 'ignore' | 'drain';
const childCode = (file: string, appFile: string, b: Behaviour) => `
const fs = require('node:fs');
process.on('SIGTERM', () => {
  fs.appendFileSync(${JSON.stringify(file)}, JSON.stringify({ t: Date.now(), appDone: fs.existsSync(${JSON.stringify(appFile)}) }) + '\\n');
  ${b === 'exit' ? 'process.exit(0);' : b === 'drain' ? 'setTimeout(() => process.exit(0), 1000);' : ''}
});
fs.writeFileSync(${JSON.stringify(file)} + '.ready', '');
setInterval(() => {}, 1e6);`;

/**
 * A parent like scripts/cluster.mjs: starts the reaper (grace 1 s), then children, each leading its
 * own group, registered as `kind`; after `steps` (forget a child, or send the apps their SIGTERM
 * and say `stopping`) it prints the PIDs, then says `done` and exits, or waits to be killed.
 */
async function parent(
  name: string,
  children: { name: string; kind: 'app' | 'infra'; behaviour: Behaviour }[],
  o: { forget?: string; stopping?: boolean; done?: boolean } = {},
): Promise<{
  proc: ChildProcess;
  pids: Record<string, number>;
  log: (child: string) => { appDone: boolean }[];
}> {
  const file = (child: string) => join(dir, `${name}.${child}`);
  const script = join(dir, `${name}.mjs`);
  writeFileSync(
    script,
    `import { spawn } from 'node:child_process';
import { startReaper } from ${JSON.stringify(join(ROOT, 'scripts/reaper.mjs'))};
const reaper = startReaper({ appGraceMs: 1000, infraGraceMs: 1000, logFile: ${JSON.stringify(file('reaper-log'))} });
const pids = {};
for (const c of ${JSON.stringify(children)}) {
  const code = c.behaviour === 'exit' ? ${JSON.stringify(childCode('@F', file('app'), 'exit'))}
    : c.behaviour === 'drain' ? ${JSON.stringify(childCode('@F', file('app'), 'drain'))}
    : ${JSON.stringify(childCode('@F', file('app'), 'ignore'))};
  const p = spawn(process.execPath, ['-e', code.replaceAll('@F', ${JSON.stringify(join(dir, `${name}.`))} + c.name)], { detached: true, stdio: 'ignore' });
  p.unref();
  pids[c.name] = p.pid;
  reaper.watch(c.kind, p.pid);
}
// A child signalled before its handler is set would just die: wait until every one listens.
const { existsSync } = await import('node:fs');
while (!${JSON.stringify(children.map((c) => c.name))}.every((n) => existsSync(${JSON.stringify(join(dir, `${name}.`))} + n + '.ready')))
  await new Promise((r) => setTimeout(r, 20));
${o.forget ? `reaper.forget(pids[${JSON.stringify(o.forget)}]);` : ''}
${
  o.stopping
    ? `reaper.stopping(); for (const c of ${JSON.stringify(children)}) if (c.kind === 'app') process.kill(pids[c.name], 'SIGTERM');`
    : ''
}
console.log(JSON.stringify(pids));
${o.done ? 'reaper.done(); setTimeout(() => process.exit(0), 200);' : 'setInterval(() => {}, 1e6);'}
`,
  );
  const proc = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  parents.add(proc);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    proc.once('exit', () => reject(new Error(`parent exited before its PIDs: ${out}`)));
  });
  const pids = JSON.parse(line) as Record<string, number>;
  for (const pid of Object.values(pids)) leftovers.add(pid);
  const log = (child: string) =>
    existsSync(file(child))
      ? readFileSync(file(child), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { appDone: boolean })
      : [];
  return { proc, pids, log };
}

const gone = (pids: number[]) => eventually(async () => pids.every((p) => !alive(p)), 15_000);

describe('the reaper of npm run cluster', () => {
  it('parent SIGKILLed: the app gets SIGTERM and is gone before the infrastructure gets its own', async () => {
    const p = await parent('killed', [
      { name: 'infra', kind: 'infra', behaviour: 'exit' },
      { name: 'app', kind: 'app', behaviour: 'exit' },
    ]);
    expect([alive(p.pids.app as number), alive(p.pids.infra as number)]).toEqual([true, true]);
    p.proc.kill('SIGKILL');
    await gone(Object.values(p.pids));
    expect(p.log('app')).toHaveLength(1);
    // The infrastructure's one SIGTERM came when the app's had already been answered.
    expect(p.log('infra')).toEqual([expect.objectContaining({ appDone: true })]);
  });

  it('a process that ignores SIGTERM is SIGKILLed after the grace', async () => {
    const p = await parent('stubborn', [{ name: 'app', kind: 'app', behaviour: 'ignore' }]);
    p.proc.kill('SIGKILL');
    await gone([p.pids.app as number]);
    expect(p.log('app')).toHaveLength(1);
    expect(readFileSync(join(dir, 'stubborn.reaper-log'), 'utf8')).toMatch(
      /still running after 1000 ms: SIGKILL/,
    );
  });

  it('after `stopping` an app draining its one SIGTERM gets no second one; a forgotten PID is never signalled', async () => {
    const p = await parent(
      'draining',
      [
        { name: 'app', kind: 'app', behaviour: 'drain' },
        { name: 'reused', kind: 'infra', behaviour: 'exit' },
      ],
      { stopping: true, forget: 'reused' },
    );
    p.proc.kill('SIGKILL');
    await gone([p.pids.app as number]);
    await sleep(1500);
    expect(p.log('app')).toHaveLength(1);
    expect(alive(p.pids.reused as number)).toBe(true);
    expect(p.log('reused')).toEqual([]);
  });

  it("parent done: the reaper leaves the processes alone (the parent's own stop handled them)", async () => {
    const p = await parent(
      'done',
      [
        { name: 'infra', kind: 'infra', behaviour: 'exit' },
        { name: 'app', kind: 'app', behaviour: 'exit' },
      ],
      { done: true },
    );
    await new Promise((r) => p.proc.once('exit', r));
    await sleep(1500);
    expect([alive(p.pids.app as number), alive(p.pids.infra as number)]).toEqual([true, true]);
    expect(p.log('app')).toEqual([]);
  });
});
