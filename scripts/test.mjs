// `npm test`: installs what is missing, makes sure Redis, NATS and PostgreSQL answer, then
// runs every check: lint + format, types, unit and integration tests (real services), and
// the end-to-end tests in a real Chromium.
import { ensureBrowser } from './browser.mjs';
import { ensureDeps, ensureServices, log, run } from './lib.mjs';
import { ensureNode } from './node-runtime.mjs';

await ensureNode();
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
ensureDeps();
await ensureServices();
log('lint + format (biome)…');
run('npx', ['biome', 'ci', '.']);
log('types (tsc)…');
run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
log('build…');
run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { env });
log('unit + integration tests (vitest)…');
run('npx', ['vitest', 'run'], { env });
const browser = await ensureBrowser();
log(`end-to-end tests in ${browser || "Playwright's Chromium"} (playwright)…`);
run('npx', ['playwright', 'test'], { env: { ...env, SURGE_BROWSER_PATH: browser } });
