// `node scripts/ensure.mjs [deps|services|env|build|local-env…] [-- command args…]`: the set-up steps of
// `npm start` / `npm test`, callable on their own, then optionally a command — under Node ≥ 22
// (scripts/node-runtime.mjs fetches the pinned Node 24 when the machine's is older). The npm
// scripts go through it: `npm run build` is `node scripts/ensure.mjs deps -- turbo run build`.
import { spawn } from 'node:child_process';
import { delimiter, join } from 'node:path';
import {
  ensureDeps,
  ensureLocalEnv,
  ensureServices,
  exitLike,
  fail,
  loadEnvFile,
  ROOT,
  relaySignals,
  run,
} from './lib.mjs';
import { ensureNode } from './node-runtime.mjs';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const steps = dash < 0 ? args : args.slice(0, dash);
const command = dash < 0 ? [] : args.slice(dash + 1);

await ensureNode();
// The command gets the environment it was called with (.env.local is for the steps), with the
// project's node_modules/.bin on PATH as npm scripts have it — and, after the step `local-env`
// (`npm run start:server` / `start:worker`), .env.local's values under the caller's own, as
// `npm start` gives its apps.
const PATH = `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}`;
let commandEnv = { ...process.env, PATH };
loadEnvFile(join(ROOT, '.env.local'));
for (const step of steps) {
  if (step === 'local-env') commandEnv = { ...process.env, PATH };
  else if (step === 'deps') ensureDeps();
  else if (step === 'services') await ensureServices();
  else if (step === 'env') ensureLocalEnv();
  else if (step === 'build')
    run('turbo', ['run', 'build', '--output-logs=errors-only'], {
      env: { ...process.env, PATH, TURBO_TELEMETRY_DISABLED: '1' },
    });
  else fail(`unknown step ${step} (deps, services, env, build, local-env)`);
}
if (command.length > 0) {
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env: commandEnv });
  relaySignals(() => [child]);
  child.on('error', (err) => fail(`${command[0]}: ${err.message}`));
  child.on('exit', exitLike);
}
