import { DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { isTransientDeclareError, pendingForSale, StreamConfigMismatch, streamDiff } from './nats.ts';

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

describe('pendingForSale', () => {
  /** A stream as a NATS kill -9 can leave it: `stale` messages at or below the ack floor. */
  function fakeJsm(o: { seqs: number[]; ackFloor: number | null }) {
    let seqs = [...o.seqs];
    const purged: number[] = [];
    const jsm = {
      streams: {
        info: async () => ({
          state: { first_seq: seqs[0] ?? 0, subjects: seqs.length ? { 'ns.orders.s': seqs.length } : {} },
        }),
        purge: async (_stream: string, opts: { seq: number }) => {
          purged.push(opts.seq);
          seqs = seqs.filter((s) => s >= opts.seq);
          return { success: true, purged: 0 };
        },
      },
      consumers: {
        info: async () => {
          if (o.ackFloor === null) throw new Error('consumer not found');
          return { ack_floor: { stream_seq: o.ackFloor, consumer_seq: o.ackFloor } };
        },
      },
    };
    return { jsm: jsm as unknown as Parameters<typeof pendingForSale>[0], purged };
  }

  it('counts messages above the ack floor and purges acknowledged ones a restart brought back', async () => {
    const stale = fakeJsm({ seqs: [5, 9, 14], ackFloor: 10 });
    expect(await pendingForSale(stale.jsm, 'ns', 's')).toBe(1);
    expect(stale.purged).toEqual([11]);
    const live = fakeJsm({ seqs: [12, 14], ackFloor: 10 });
    expect(await pendingForSale(live.jsm, 'ns', 's')).toBe(2);
    expect(live.purged).toEqual([]);
    const noConsumer = fakeJsm({ seqs: [1, 2], ackFloor: null });
    expect(await pendingForSale(noConsumer.jsm, 'ns', 's')).toBe(2);
    expect(noConsumer.purged).toEqual([]);
    expect(await pendingForSale(fakeJsm({ seqs: [], ackFloor: 10 }).jsm, 'ns', 's')).toBe(0);
  });
});
