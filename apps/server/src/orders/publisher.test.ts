import type { OrderMessage } from '@surge/contracts';
import type { NatsHandle } from '@surge/infra';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NO_RESPONDERS_GRACE_MS, OrderPublisher } from './publisher.ts';

/** The publisher's retry rule for "no responders", against a JetStream that answers as told. */
describe('OrderPublisher and "no responders"', () => {
  let answers: ('no-responders' | 'stored')[];
  let attempts: number;
  const publisher = () =>
    new OrderPublisher(
      {
        isConnected: () => true,
        js: {
          publish: async () => {
            attempts++;
            if ((answers.shift() ?? 'no-responders') === 'stored') return { seq: 1, duplicate: false };
            throw Object.assign(new Error('no responders'), { name: 'NoRespondersError' });
          },
        },
      } as unknown as NatsHandle,
      { namespace: 't', breakerFailures: 100, breakerHalfOpenMs: 1000, deadlineMs: 3000 },
    );
  const msg = { orderId: 'o1', saleId: 's', epoch: 1, correlationId: 'c' } as OrderMessage;
  /** The outcome and how long it took on the fake clock. */
  const timed = async (p: OrderPublisher) => {
    const t0 = Date.now();
    const out = p.publish(msg);
    await vi.advanceTimersByTimeAsync(5000);
    return { ...(await out), ms: Date.now() - t0 - 5000 };
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    answers = [];
    attempts = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('a stream that never answers: refused once the grace has passed, not at the deadline', async () => {
    const p = publisher();
    const t0 = Date.now();
    const out = p.publish(msg);
    await vi.advanceTimersByTimeAsync(NO_RESPONDERS_GRACE_MS + 100);
    expect(await out).toEqual({ kind: 'refused', why: 'no responders' });
    expect(Date.now() - t0).toBeLessThan(3000);
    // The stretch goes on: the next publish meeting it is refused at its first attempt.
    attempts = 0;
    const next = p.publish(msg);
    await vi.advanceTimersByTimeAsync(0);
    expect(await next).toEqual({ kind: 'refused', why: 'no responders' });
    expect(attempts).toBe(1);
  });

  it('a short blip is retried until stored', async () => {
    answers = ['no-responders', 'no-responders', 'stored'];
    expect((await timed(publisher())).kind).toBe('stored');
    expect(attempts).toBe(3);
  });

  it('a "no responders" long after the last one starts a new stretch: retried, not refused at once', async () => {
    const p = publisher();
    const first = p.publish(msg);
    await vi.advanceTimersByTimeAsync(NO_RESPONDERS_GRACE_MS + 100);
    expect((await first).kind).toBe('refused');
    await vi.advanceTimersByTimeAsync(5 * NO_RESPONDERS_GRACE_MS); // quiet: nothing published
    answers = ['no-responders', 'stored'];
    attempts = 0;
    expect((await timed(p)).kind).toBe('stored');
    expect(attempts).toBe(2);
  });
});
