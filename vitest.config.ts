import { readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vitest/config';

/** `.lua` files are imported as text, as esbuild's `text` loader does for the bundles. */
const luaAsText: Plugin = {
  name: 'lua-as-text',
  transform(_code, id) {
    if (!id.endsWith('.lua')) return null;
    return { code: `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`, map: null };
  },
};

// Two projects: `unit` is pure logic (beside the code), `integration` talks to the real
// Redis, NATS JetStream and PostgreSQL — each file in its own namespace and database.
export default defineConfig({
  plugins: [luaAsText],
  test: {
    exclude: ['**/node_modules/**', '**/dist/**', 'tests/e2e/**'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['apps/*/src/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'tests/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          globalSetup: ['tests/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The services are shared; files run one after another so load tests do not
          // starve each other on two cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
