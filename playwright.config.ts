import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests in a real Chromium against a real stack: a built server and worker on the
 * machine's Redis, NATS and PostgreSQL, in their own namespace and database (global setup).
 * `npm test` sets SURGE_BROWSER_PATH to Debian's Chromium when Playwright's own is absent.
 */
const executablePath = process.env.SURGE_BROWSER_PATH || process.env.CHROMIUM_PATH || undefined;

export default defineConfig({
  testDir: 'tests/e2e',
  // `npm run screenshots` refreshes the README's images with its own config.
  testIgnore: '**/screenshots.spec.ts',
  outputDir: 'test-results/e2e',
  globalSetup: './tests/e2e/support/global-setup.ts',
  globalTeardown: './tests/e2e/support/global-teardown.ts',
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    trace: 'on-first-retry',
    screenshot: 'only-on-failure',
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});
