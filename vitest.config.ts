import { defineConfig } from 'vitest/config';

// Two projects: `unit` is pure logic (beside the code), `integration` talks to the real
// Redis, NATS JetStream and PostgreSQL — each run in its own namespace and database.
export default defineConfig({
  test: {
    exclude: ['**/node_modules/**', '**/dist/**', 'tests/e2e/**'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['apps/*/src/**/*.test.ts', 'packages/*/src/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
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
