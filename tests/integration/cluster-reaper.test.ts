import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/paths.ts';
import { eventually } from '../support/services.ts';

/**
 * scripts/reaper.mjs, as `npm run cluster` uses it: a parent registers processes that lead their
 * own groups (so a Ctrl-C reaches only the parent). If the parent is SIGKILLed, the reaper stops
 * them — the apps first with SIGTERM (they drain), then the infrastructure; if the parent says
 * `done` (it stopped them itself), the reaper leaves everything alone.
 */
const dir = mkdtempSync(join(tmpdir(), 'surge-reaper-'));
const leftovers = new Set<number>();
afterAll(() => {
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
 * A parent like scripts/cluster.mjs: starts the reaper and two group leaders (an "app" and an
 * "infra" process, each writing the time of the SIGTERM it got into a file, then exiting), registers
 * both and prints their PIDs; with `done`, it then tells the reaper it stopped them and exits.
 */
async function parent(
  name: string,
  done: boolean,
): Promise<{ proc: ChildProcess; app: number; infra: number }> {
  const child = (marker: string) =>
    `spawn(process.execPath, ['-e', ${JSON.stringify(
      `process.on('SIGTERM', () => { require('node:fs').writeFileSync(${JSON.stringify(marker)}, String(Date.now())); process.exit(0); }); setInterval(() => {}, 1e6);`,
    )}], { detached: true, stdio: 'ignore' })`;
  const script = join(dir, `${name}.mjs`);
  writeFileSync(
    script,
    `import { spawn } from 'node:child_process';
import { startReaper } from ${JSON.stringify(join(ROOT, 'scripts/reaper.mjs'))};
const reaper = startReaper({ appGraceMs: 5000, infraGraceMs: 5000 });
const app = ${child(join(dir, `${name}.app`))};
const infra = ${child(join(dir, `${name}.infra`))};
app.unref(); infra.unref();
reaper.watch('infra', infra.pid);
reaper.watch('app', app.pid);
console.log(JSON.stringify({ app: app.pid, infra: infra.pid }));
${done ? 'reaper.done(); setTimeout(() => process.exit(0), 200);' : 'setInterval(() => {}, 1e6);'}
`,
  );
  const proc = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    proc.once('exit', () => reject(new Error(`parent exited before its PIDs: ${out}`)));
  });
  const pids = JSON.parse(line) as { app: number; infra: number };
  leftovers.add(pids.app).add(pids.infra);
  return { proc, ...pids };
}

describe('the reaper of npm run cluster', () => {
  it('parent SIGKILLed: its apps get SIGTERM first, then its infrastructure; nothing is left', async () => {
    const p = await parent('killed', false);
    expect([alive(p.app), alive(p.infra)]).toEqual([true, true]);
    p.proc.kill('SIGKILL');
    await eventually(async () => !alive(p.app) && !alive(p.infra), 15_000);
    const at = (kind: string) => Number(readFileSync(join(dir, `killed.${kind}`), 'utf8'));
    // Both were stopped by SIGTERM (each wrote its file), the app before the infrastructure.
    expect(at('app')).toBeLessThanOrEqual(at('infra'));
  });

  it("parent done: the reaper leaves the processes alone (the parent's own stop handled them)", async () => {
    const p = await parent('done', true);
    await new Promise((r) => p.proc.once('exit', r));
    await new Promise((r) => setTimeout(r, 1500));
    expect([alive(p.app), alive(p.infra)]).toEqual([true, true]);
    expect(existsSync(join(dir, 'done.app'))).toBe(false);
  });
});
