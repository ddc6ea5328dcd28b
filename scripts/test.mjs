// `npm test`: installs what is missing, makes sure Redis, NATS and PostgreSQL answer, then
// runs every check: lint + format, types, unit and integration tests (real services).
import { ensureDeps, ensureServices, log, run } from './lib.mjs';

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
run('npx', ['vitest', 'run', ...process.argv.slice(2)], { env });
