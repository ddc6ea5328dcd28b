import { describe, expect, it } from 'vitest';
import { loadServerEnv, startupLogLevel } from './env.ts';

const secrets = { SESSION_SECRET: 'x'.repeat(40), ADMIN_PASSWORD: 'a-strong-admin-password' };
/** ~110 bits estimated each: what production accepts; with the origins and metrics token it requires. */
const strong = {
  SESSION_SECRET: 'Zp4rT9qW2xL7mK3vN8bC6yH1sF5gJ0dEuA3k',
  ADMIN_PASSWORD: 'vQ8-rT2mK9pZ4xL7wN6yB3cF5hJ1sD0gA',
  METRICS_TOKEN: 'mT7-kQ2xW9pL4zR8vN3bY6cH1fJ5sD0gAe',
  ALLOWED_ORIGINS: 'https://shop.example',
};

describe('server configuration', () => {
  it('takes the seed nodes of a Redis Cluster in REDIS_URL, and refuses a list with a bad URL', () => {
    const seeds = 'redis://10.0.0.1:6379,redis://10.0.0.2:6379, redis://10.0.0.3:6379';
    expect(loadServerEnv({ ...secrets, REDIS_URL: seeds, REDIS_CLUSTER: 'true' })).toMatchObject({
      REDIS_URL: seeds,
      REDIS_CLUSTER: true,
    });
    expect(() => loadServerEnv({ ...secrets, REDIS_URL: 'redis://10.0.0.1:6379,nonsense' })).toThrow(
      /REDIS_URL/,
    );
  });
  it('applies the defaults of the configuration table', () => {
    const env = loadServerEnv(secrets);
    expect(env).toMatchObject({
      PORT: 3000,
      SURGE_NAMESPACE: 'surge',
      RATE_LIMIT_PER_USER: 10,
      RATE_LIMIT_PER_IP: 300,
      RATE_LIMIT_WINDOW_MS: 10_000,
      IDEMPOTENCY_TTL_S: 86_400,
      BREAKER_FAILURES: 5,
      BREAKER_HALF_OPEN_MS: 10_000,
      LEASE_MS: 5000,
      REBUILD_TIMEOUT_MS: 30_000,
      STREAM_REPLICAS: 1,
      STREAM_MAX_BYTES: 1024 ** 3,
      TRUST_PROXY: false,
      REDIS_CLUSTER: false,
      LOG_LEVEL: 'info',
    });
    expect([...env.allowedOrigins]).toEqual([
      'http://localhost:3000',
      'http://127.0.0.1:3000',
      'http://localhost:5173',
      'http://127.0.0.1:5173',
    ]);
  });

  it('names the variable of a bad value', () => {
    expect(() => loadServerEnv({ ...secrets, PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadServerEnv({ ...secrets, STREAM_MAX_BYTES: 'lots' })).toThrow(/STREAM_MAX_BYTES/);
    expect(() => loadServerEnv({ ...secrets, SURGE_NAMESPACE: 'Has.Dots' })).toThrow(/SURGE_NAMESPACE/);
    expect(() => loadServerEnv({ ...secrets, TRUST_PROXY: 'maybe' })).toThrow(/TRUST_PROXY/);
  });

  it('parses byte sizes and origin lists', () => {
    const env = loadServerEnv({
      ...secrets,
      STREAM_MAX_BYTES: '64MiB',
      ALLOWED_ORIGINS: 'https://shop.example, https://hud.example',
    });
    expect(env.STREAM_MAX_BYTES).toBe(64 * 1024 * 1024);
    expect([...env.allowedOrigins]).toEqual(['https://shop.example', 'https://hud.example']);
  });

  it('requires both secrets, a session secret of ≥ 32 characters', () => {
    expect(() => loadServerEnv({ ADMIN_PASSWORD: 'x' })).toThrow(/SESSION_SECRET/);
    expect(() => loadServerEnv({ SESSION_SECRET: 'x'.repeat(40) })).toThrow(/ADMIN_PASSWORD/);
    expect(() => loadServerEnv({ ...secrets, SESSION_SECRET: 'short' })).toThrow(/SESSION_SECRET/);
  });

  it('refuses default or weak secrets in production', () => {
    const prod = { NODE_ENV: 'production', ...strong };
    expect(() => loadServerEnv({ ...prod, ...strong })).not.toThrow();
    expect(() => loadServerEnv({ ...prod, ...secrets, ADMIN_PASSWORD: 'admin' })).toThrow(/ADMIN_PASSWORD/);
    expect(() => loadServerEnv({ ...prod, ...secrets, ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD/);
    expect(() => loadServerEnv({ ...prod, ...secrets, SESSION_SECRET: `changeme${'x'.repeat(30)}` })).toThrow(
      /SESSION_SECRET/,
    );
  });

  it('README.md#security (issue 10 M4): production wants ~80 bits of estimated strength, not just length', () => {
    const prod = { NODE_ENV: 'production', ...strong };
    // Long enough for the old rules, and refused now.
    expect(() => loadServerEnv({ ...prod, ADMIN_PASSWORD: 'password1234' })).toThrow(/ADMIN_PASSWORD.*bits/);
    expect(() => loadServerEnv({ ...prod, ADMIN_PASSWORD: 'a-long-production-password' })).toThrow(
      /ADMIN_PASSWORD/,
    );
    expect(() => loadServerEnv({ ...prod, SESSION_SECRET: 'x'.repeat(40) })).toThrow(/SESSION_SECRET.*bits/);
    expect(() => loadServerEnv({ ...prod, SESSION_SECRET: 'production-session-secret-0123456789' })).toThrow(
      /SESSION_SECRET/,
    );
    // Outside production the same values are fine (development and tests).
    expect(() =>
      loadServerEnv({ ADMIN_PASSWORD: 'password1234', SESSION_SECRET: 'x'.repeat(40) }),
    ).not.toThrow();
  });

  it('issue 10 L8: production names its ALLOWED_ORIGINS (no localhost fallback); development keeps the fallback', () => {
    const prod = { NODE_ENV: 'production', ...strong };
    expect(loadServerEnv(prod).allowedOrigins).toEqual(new Set(['https://shop.example']));
    expect(() => loadServerEnv({ ...prod, ALLOWED_ORIGINS: undefined })).toThrow(
      /ALLOWED_ORIGINS: required in production/,
    );
    expect(() => loadServerEnv({ ...prod, ALLOWED_ORIGINS: '' })).toThrow(/ALLOWED_ORIGINS/);
    expect(() => loadServerEnv({ ...prod, ALLOWED_ORIGINS: ' , ' })).toThrow(/ALLOWED_ORIGINS/);
    expect(loadServerEnv(secrets).allowedOrigins).toContain('http://localhost:3000');
  });

  it('issue 10 L2: production wants a strong METRICS_TOKEN for /metrics; elsewhere it is optional', () => {
    const prod = { NODE_ENV: 'production', ...strong };
    expect(loadServerEnv(prod).METRICS_TOKEN).toBe(strong.METRICS_TOKEN);
    expect(() => loadServerEnv({ ...prod, METRICS_TOKEN: undefined })).toThrow(
      /METRICS_TOKEN: required in production/,
    );
    expect(() => loadServerEnv({ ...prod, METRICS_TOKEN: 'metrics' })).toThrow(/METRICS_TOKEN.*bits/);
    expect(loadServerEnv(secrets).METRICS_TOKEN).toBeUndefined();
  });

  it('issue 10 L3: outside production it listens on loopback, and refuses a public HOST unless told', () => {
    expect(loadServerEnv(secrets).HOST).toBe('127.0.0.1');
    expect(loadServerEnv({ ...secrets, NODE_ENV: 'production', ...strong }).HOST).toBe('0.0.0.0');
    expect(() => loadServerEnv({ ...secrets, HOST: '0.0.0.0' })).toThrow(/HOST.*NODE_ENV/);
    expect(loadServerEnv({ ...secrets, HOST: '0.0.0.0', DEV_LISTEN_ANY: 'true' }).HOST).toBe('0.0.0.0');
    expect(loadServerEnv({ ...secrets, HOST: '::1' }).HOST).toBe('::1');
  });

  it('starts logging at LOG_LEVEL, or at info when it is unset or invalid (which loadServerEnv then names)', () => {
    expect(startupLogLevel({ LOG_LEVEL: 'debug' })).toBe('debug');
    expect(startupLogLevel({})).toBe('info');
    expect(startupLogLevel({ LOG_LEVEL: 'loud' })).toBe('info');
    expect(() => loadServerEnv({ ...secrets, LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
