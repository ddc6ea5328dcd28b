// `npm run screenshots`: photographs the shop page and the HUD (dark and light) into
// docs/screenshots/ for the README, with the same browser the tests use.
import { ensureBrowser } from './browser.mjs';
import { run } from './lib.mjs';
import { ensureNode } from './node-runtime.mjs';

await ensureNode();
const browser = await ensureBrowser();
run('npx', ['playwright', 'test', '--config', 'playwright.screenshots.config.ts'], {
  env: { ...process.env, SURGE_BROWSER_PATH: browser },
});
