// `npm test`: installs what is missing, makes sure Redis, NATS and PostgreSQL answer, then
// runs every check: lint + format, types, unit and integration tests (real services), a
// 60-second fault run with a fixed seed (tests/chaos, on private servers), and the end-to-end
// tests in a real Chromium. Prints how long each suite took.
import { ensureBrowser } from './browser.mjs';
import { ensureDeps, ensureServices, log, run } from './lib.mjs';
import { ensureNode } from './node-runtime.mjs';

await ensureNode();
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
ensureDeps();
await ensureServices();
const times = [];
const suite = (name, fn) => {
  log(`${name}…`);
  const t = performance.now();
  fn();
  const s = (performance.now() - t) / 1000;
  times.push([name, s]);
  log(`${name}: ${s.toFixed(1)} s`);
};
suite('lint + format (biome)', () => run('npx', ['biome', 'ci', '.']));
suite('types (tsc)', () => run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']));
suite('build', () => run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { env }));
suite('unit + integration tests (vitest)', () => run('npx', ['vitest', 'run'], { env }));
// The seed is fixed (tests/chaos/seed.ts) and printed first; the run fails on any violation.
suite('fault run (60 s, fixed seed)', () => run('npx', ['tsx', 'tests/chaos/run.ts', '--test'], { env }));
const browser = await ensureBrowser();
suite(`end-to-end tests in ${browser || "Playwright's Chromium"} (playwright)`, () =>
  run('npx', ['playwright', 'test'], { env: { ...env, SURGE_BROWSER_PATH: browser } }));
const total = times.reduce((s, [, t]) => s + t, 0);
log(
  `suites: ${times.map(([n, t]) => `${n} ${t.toFixed(0)} s`).join(', ')}; total ${(total / 60).toFixed(1)} min`,
);
