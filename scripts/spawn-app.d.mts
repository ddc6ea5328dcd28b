import type { ChildProcess } from 'node:child_process';

export type AppName = 'server' | 'worker';

export const APPS: Record<AppName, { script: string; portVar: string; defaultPort: number }>;

export interface SpawnAppOptions {
  /** A built app (`apps/<app>/dist/main.js`, port variable PORT or WORKER_PORT). */
  app?: AppName;
  /** Another bundle instead (absolute, or relative to the repository root). */
  script?: string;
  args?: string[];
  /** The variable naming the HTTP port for `script` (default PORT). */
  portVar?: string;
  /** Set over `process.env` (unless `inheritEnv: false`). */
  env?: Record<string, string | undefined>;
  inheritEnv?: boolean;
  /** `'free'`: pick a free port; a number: that port; absent: whatever `env` says (or the default). */
  port?: number | 'free';
  /** `capture` (default) keeps the output's tail for error messages; detached apps ignore it. */
  stdio?: 'capture' | 'inherit' | 'ignore';
  /** Outlives this process (the e2e global set-up); stdio is ignored. */
  detached?: boolean;
  /**
   * Its own process group, still attached, stdio as asked: a Ctrl-C in the terminal reaches
   * only the caller, which passes on the signal it wants (`npm run cluster`).
   */
  ownGroup?: boolean;
  /** Default true: resolve once `/readyz` answers 200. */
  waitReady?: boolean;
  readyTimeoutMs?: number;
  /** Names the process in error messages (default: the app). */
  label?: string;
  /** Also append everything the process writes to this file (the in-memory tail stays bounded). */
  logFile?: string;
  cwd?: string;
}

export interface SpawnedApp {
  readonly label: string;
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the API (server) or health and metrics (worker). */
  readonly url: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set once `stop()` or `kill()` was called: an exit after it is no failure. */
  readonly stopping: boolean;
  running(): boolean;
  /** The last 8,000 characters of its output (captured stdio only). */
  output(): string;
  /** Its last 5 lines at pino warn or above, or not log lines at all. */
  warnings(): string[];
  /** How it ended (or that it runs) and its last output, for an error message. */
  report(): string;
  ready(timeoutMs?: number): Promise<void>;
  stop(opts?: { signal?: NodeJS.Signals; killAfterMs?: number }): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function freePort(): Promise<number>;
export function spawnApp(o: SpawnAppOptions): Promise<SpawnedApp>;
/** Apps this process spawned that have not exited yet (detached ones excepted). */
export function liveApps(): SpawnedApp[];
export function waitUntilReady(target: string | SpawnedApp, timeoutMs?: number): Promise<void>;
