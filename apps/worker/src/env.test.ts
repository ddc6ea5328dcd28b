import { describe, expect, it } from 'vitest';
import { loadWorkerEnv } from './env.ts';

describe("the worker's listen address", () => {
  it('stays on loopback outside production, listens on every interface in production, or where told', () => {
    expect(loadWorkerEnv({}).HOST).toBe('127.0.0.1');
    expect(loadWorkerEnv({ NODE_ENV: 'production' }).HOST).toBe('0.0.0.0');
    expect(loadWorkerEnv({ HOST: '10.0.0.5' }).HOST).toBe('10.0.0.5');
  });
});
