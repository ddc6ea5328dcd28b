import { execFileSync } from 'node:child_process';
import { ROOT } from './paths.ts';

/**
 * Fault tests run the server as a separate built process (to `kill -9` it): bundle it once
 * per run so `npx vitest` alone works too (`npm test` has built already; this takes ~0.3 s).
 */
export default function setup(): void {
  for (const app of ['server', 'worker']) {
    execFileSync(process.execPath, ['../../scripts/bundle.mjs', 'src/main.ts', 'dist/main.js'], {
      cwd: `${ROOT}/apps/${app}`,
      stdio: 'inherit',
    });
  }
}
