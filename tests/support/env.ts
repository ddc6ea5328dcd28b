import { SHARED } from './services.ts';

/**
 * The environment of a process under test (server or worker): its own namespace and database,
 * rate limits off. Kept apart from stack.ts so plain `tsx` scripts (the bench) can use it
 * without loading the server's sources.
 */
export const ADMIN_PASSWORD = 'test-admin-password';
export const SESSION_SECRET = 'test-session-secret-0123456789abcdef';
/**
 * Secrets strong enough for NODE_ENV=production (~80 bits estimated, README.md#security), and
 * the bearer token a production server asks for on /metrics.
 */
export const PRODUCTION_SECRETS = {
  ADMIN_PASSWORD: 'vQ8-rT2mK9pZ4xL7wN6yB3cF5hJ1sD0gA',
  SESSION_SECRET: 'Zp4rT9qW2xL7mK3vN8bC6yH1sF5gJ0dEuA3k',
  METRICS_TOKEN: 'mT7-kQ2xW9pL4zR8vN3bY6cH1fJ5sD0gAe',
};
/** The Origins of a production server under test (it refuses to start without them); Node clients send none. */
export const PRODUCTION_ORIGINS = 'http://127.0.0.1,http://localhost';

/** The environment of a server under test: its own namespace and database, limits off. */
export function baseEnv(
  db: { url: string },
  ns: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: SHARED.redis,
    NATS_URL: SHARED.nats,
    SURGE_NAMESPACE: ns,
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_PASSWORD,
    SESSION_SECRET,
    RATE_LIMIT_PER_USER: '0',
    RATE_LIMIT_PER_IP: '0',
    RATE_LIMIT_READS_PER_IP: '0',
    SSE_MAX_PER_IP: '0',
    // Proof of work off like the limits above (POW_MAX_NUMBER=0); the tests of the defence and the
    // e2e stack turn it on, and TestClient.startSession() solves it then.
    POW_MAX_NUMBER: '0',
    LOG_LEVEL: 'silent',
    STREAM_MAX_BYTES: '64MiB',
    WORKER_PORT: '0',
    ...(overrides.NODE_ENV === 'production' ? { ALLOWED_ORIGINS: PRODUCTION_ORIGINS } : {}),
    ...overrides,
  };
}
