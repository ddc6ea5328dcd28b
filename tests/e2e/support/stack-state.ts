import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../support/paths.ts';

/** What the global setup started, shared with the specs through a file. */
export interface StackState {
  url: string;
  ns: string;
  databaseUrl: string;
  adminPassword: string;
  sessionSecret: string;
  serverPid: number;
  workerPids: number[];
}

export const STATE_FILE = join(ROOT, 'test-results', 'e2e-stack.json');

export function readState(): StackState {
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StackState;
}
