import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BenchCleanup, Interrupted } from '../../bench/cleanup.ts';
import { liveApps, spawnApp } from '../../scripts/spawn-app.mjs';

// Two stand-ins for the bench's children: one that exits on SIGTERM, one that ignores it.
const dir = mkdtempSync(join(tmpdir(), 'bench-cleanup-'));
const QUIET = join(dir, 'quiet.mjs');
const STUBBORN = join(dir, 'stubborn.mjs');
writeFileSync(
  QUIET,
  "setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0)); console.log('up');\n",
);
writeFileSync(STUBBORN, "setInterval(() => {}, 1000); process.on('SIGTERM', () => {}); console.log('up');\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Spawned, and once its signal handler is in place. */
const start = async (script: string, label: string) => {
  const app = await spawnApp({ script, label, port: 'free', waitReady: false, inheritEnv: false, env: {} });
  while (!app.output().includes('up')) await new Promise((r) => setTimeout(r, 10));
  return app;
};
const alive = (pid: number | undefined) => {
  try {
    process.kill(pid as number, 0);
    return true;
  } catch {
    return false;
  }
};

describe("an interrupted bench's clean-up (bench/cleanup.ts)", () => {
  it('stops every spawned app (SIGKILL for one that ignores SIGTERM), then undoes, then refuses anything new', async () => {
    const cleanup = new BenchCleanup(liveApps, 300);
    const quiet = await start(QUIET, 'quiet');
    const stubborn = await start(STUBBORN, 'stubborn');
    const done = await start(QUIET, 'ended normally');
    await done.stop();
    const undone: string[] = [];
    cleanup.add(async () => {
      // The apps are down before the undo steps run (a database is dropped once free).
      undone.push(`run (apps running: ${[quiet, stubborn].filter((a) => a.running()).length})`);
    });
    const forget = cleanup.add(async () => {
      undone.push('a run that ended and undid itself');
    });
    forget();
    expect(liveApps()).toEqual(expect.arrayContaining([quiet, stubborn]));

    await cleanup.interrupt('SIGINT');

    expect(cleanup.interrupted).toBe('SIGINT');
    expect(undone).toEqual(['run (apps running: 0)']);
    expect([quiet.running(), stubborn.running()]).toEqual([false, false]);
    expect(await stubborn.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect([alive(quiet.pid), alive(stubborn.pid)]).toEqual([false, false]);
    expect(liveApps()).toEqual([]);
    expect(() => cleanup.check()).toThrow(Interrupted);
    // A step added once interrupted (a run that was starting) is kept for the clean-up, and throws.
    expect(() => cleanup.add(async () => undefined)).toThrow(Interrupted);
  });

  it('kills what is still running at exit, synchronously', async () => {
    const cleanup = new BenchCleanup(liveApps, 300);
    const stubborn = await start(STUBBORN, 'stubborn');
    expect(cleanup.killRemaining()).toEqual([`stubborn (pid ${stubborn.pid})`]);
    expect(await stubborn.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(cleanup.killRemaining()).toEqual([]);
  });
});
