// Finds (or installs) the Chromium that the Playwright tests drive (`npm test`):
// Playwright's own build when installed, else CHROMIUM_PATH or Debian's /usr/bin/chromium;
// when none exists: `npx playwright install chromium` (works where the internet is
// reachable), then — on Debian as root — `apt-get install -y chromium`, else stop and say
// what to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fail, has, log, ROOT } from './lib.mjs';

async function playwrightOwn() {
  try {
    const { chromium } = await import('@playwright/test');
    const path = chromium.executablePath();
    return path && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function systemChromium() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    Boolean,
  );
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Returns `''` for Playwright's own browser, or the path of a system Chromium. */
export async function ensureBrowser() {
  if (await playwrightOwn()) return '';
  const system = systemChromium();
  if (system) return system;

  log('no Chromium found: trying `npx playwright install chromium`…');
  spawnSync('npx', ['playwright', 'install', 'chromium'], { cwd: ROOT, stdio: 'inherit' });
  if (await playwrightOwn()) return '';

  if (process.getuid?.() === 0 && has('apt-get')) {
    log("installing Debian's chromium (apt-get install -y chromium)…");
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
      r = spawnSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env });
    }
    const installed = systemChromium();
    if (installed) return installed;
  }
  fail(
    'the browser tests need Chromium and none was found. Install one of:\n' +
      '  npx playwright install chromium          (needs internet access)\n' +
      '  apt-get install chromium                 (Debian/Ubuntu; then it is /usr/bin/chromium)\n' +
      '  or set CHROMIUM_PATH to a Chromium/Chrome executable.',
  );
}
