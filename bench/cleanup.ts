/**
 * What an interrupted bench undoes (SIGINT, SIGTERM), shared by every bench entry point: every
 * app this process spawned that still runs (`liveApps` of scripts/spawn-app.mjs: SIGTERM, SIGKILL
 * after `killAfterMs`), then the registered undo steps (each isolated run's: its processes,
 * namespace and database), and at exit a SIGKILL for any app still there. The server, the worker and
 * the baseline start no processes of their own, so stopping each by its PID stops them all; the
 * forked stream clients (bench/spike/sse-followers.mjs, bench/sse/client.mjs) exit when their IPC
 * channel to the bench closes. Once interrupted, nothing new may start (`check`, `add` throw).
 */
import { constants } from 'node:os';
import { liveApps, type SpawnedApp } from '../scripts/spawn-app.mjs';

type App = Pick<SpawnedApp, 'pid' | 'label' | 'running' | 'stop'>;

export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}: nothing new starts`);
  }
}

export class BenchCleanup {
  readonly #undo = new Set<() => Promise<unknown>>();
  #signal: NodeJS.Signals | null = null;

  constructor(
    private readonly apps: () => App[] = liveApps,
    private readonly killAfterMs = 5000,
  ) {}

  /** The signal that interrupted the bench, or null. */
  get interrupted(): NodeJS.Signals | null {
    return this.#signal;
  }

  /**
   * Registers an undo step (a run's clean-up); returns its removal, for when the run ends and
   * undoes itself. Once interrupted, the step is still kept (run if the interruption has not
   * finished) and this throws, so that the caller starts nothing more.
   */
  add(undo: () => Promise<unknown>): () => void {
    this.#undo.add(undo);
    if (this.#signal) throw new Interrupted(this.#signal);
    return () => this.#undo.delete(undo);
  }

  /** Throws once interrupted. */
  check(): void {
    if (this.#signal) throw new Interrupted(this.#signal);
  }

  /**
   * Marks the bench interrupted, stops every spawned app still running (so that the databases
   * are free), runs every undo step, and again while an undo step or an app is left (one may
   * have been added meanwhile). Resolves once done.
   */
  async interrupt(signal: NodeJS.Signals): Promise<void> {
    this.#signal ??= signal;
    const running = () => this.apps().filter((a) => a.running());
    do {
      await Promise.allSettled(running().map((a) => a.stop({ killAfterMs: this.killAfterMs })));
      const steps = [...this.#undo];
      this.#undo.clear();
      await Promise.allSettled(steps.map((u) => u()));
    } while (this.#undo.size > 0 || running().length > 0);
  }

  /** SIGKILL to every spawned app still running (synchronous, for `process.on('exit')`); their labels. */
  killRemaining(): string[] {
    const killed: string[] = [];
    for (const a of this.apps()) {
      if (!a.running() || a.pid === undefined) continue;
      try {
        process.kill(a.pid, 'SIGKILL');
        killed.push(`${a.label} (pid ${a.pid})`);
      } catch {
        // Gone meanwhile.
      }
    }
    return killed;
  }
}

/** The bench process's one registry. */
export const benchCleanup = new BenchCleanup();

/**
 * SIGINT and SIGTERM undo the bench (`benchCleanup.interrupt`) and exit with 128 + the signal's
 * number (130, 143); a second signal meanwhile is ignored. At any exit, a spawned app still
 * running is killed (and named).
 */
export function exitOnSignals(cleanup: BenchCleanup = benchCleanup): void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (cleanup.interrupted) return;
    console.error(`\n${signal}: cleaning up…`);
    void cleanup.interrupt(signal).finally(() => process.exit(128 + (constants.signals[signal] ?? 0)));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    const killed = cleanup.killRemaining();
    if (killed.length > 0) console.error(`killed at exit, still running: ${killed.join(', ')}`);
  });
}
