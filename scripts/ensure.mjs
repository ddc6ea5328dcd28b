// `node scripts/ensure.mjs deps|services|env…` — the set-up steps of `npm start` / `npm test`,
// callable on their own (e.g. `npm run build` makes sure dependencies are installed).

import { join } from 'node:path';
import { ensureDeps, ensureLocalEnv, ensureServices, loadEnvFile, ROOT } from './lib.mjs';

const steps = process.argv.slice(2);
loadEnvFile(join(ROOT, '.env.local'));
for (const step of steps) {
  if (step === 'deps') ensureDeps();
  else if (step === 'services') await ensureServices();
  else if (step === 'env') ensureLocalEnv();
  else throw new Error(`unknown step ${step}`);
}
