import { DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { isTransientDeclareError, StreamConfigMismatch, streamDiff } from './nats.ts';

const want = {
  name: 'surge_orders',
  subjects: ['surge.orders.>'],
  retention: RetentionPolicy.Workqueue,
  discard: DiscardPolicy.New,
  storage: StorageType.File,
  max_bytes: 1024,
  num_replicas: 3,
  duplicate_window: 120_000_000_000,
};

describe('streamDiff', () => {
  it('finds nothing when the stream matches', () => {
    expect(streamDiff({ ...want }, want)).toEqual({ fixed: [], changed: [] });
  });

  it('splits what can be updated from what cannot', () => {
    const d = streamDiff(
      { ...want, retention: RetentionPolicy.Limits, max_bytes: 2048, num_replicas: 1 },
      want,
    );
    expect(d.fixed.map((x) => x.field)).toEqual(['retention']);
    expect(d.changed.map((x) => x.field)).toEqual(['max_bytes', 'num_replicas']);
  });

  it('names every difference that blocks the update in its error', () => {
    const d = streamDiff({ ...want, storage: StorageType.Memory }, want);
    expect(new StreamConfigMismatch('surge_orders', d.fixed).message).toMatch(
      /storage is "memory", wanted "file"/,
    );
  });
});

describe('isTransientDeclareError', () => {
  const api = (code: number, status: number) => ({ name: 'JetStreamApiError', code, status });
  it('retries timeouts, missing responders, a cluster settling and a lost creation race', () => {
    for (const e of [
      { name: 'TimeoutError' },
      { name: 'NoRespondersError' },
      api(10008, 503),
      api(10023, 500),
      api(10058, 400),
    ])
      expect(isTransientDeclareError(e)).toBe(true);
  });
  it('gives up on a real refusal', () => {
    expect(isTransientDeclareError(api(10052, 400))).toBe(false); // invalid config
    expect(isTransientDeclareError(new StreamConfigMismatch('s', []))).toBe(false);
    expect(isTransientDeclareError(new TypeError('bug'))).toBe(false);
  });
});
