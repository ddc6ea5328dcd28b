import type { JsMsg } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { MessageQueue } from './message-queue.ts';

const msg = (n: number) => ({ seq: n }) as unknown as JsMsg;

describe('MessageQueue.take with a linger', () => {
  it('a batch that is not full waits for more messages, up to the batch size', async () => {
    const q = new MessageQueue(100);
    void q.push(msg(1));
    const taking = q.take(5, 60_000);
    for (let i = 2; i <= 7; i++) void q.push(msg(i));
    expect((await taking).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(q.size).toBe(2);
  });

  it('returns what it has once the linger is over, and at once without one', async () => {
    const q = new MessageQueue(100);
    void q.push(msg(1));
    expect((await q.take(5, 1)).length).toBe(1);
    void q.push(msg(2));
    expect((await q.take(5)).length).toBe(1);
  });

  it('close() ends a linger: the batch keeps what it has', async () => {
    const q = new MessageQueue(100);
    void q.push(msg(1));
    const taking = q.take(5, 60_000);
    q.close();
    expect((await taking).length).toBe(1);
  });
});

describe('MessageQueue.whenHolding (a full batch waiting: start another beside those in flight)', () => {
  it('resolves once n messages wait, not before', async () => {
    const q = new MessageQueue(100);
    let ready = false;
    const waiting = q.whenHolding(3).then(() => {
      ready = true;
    });
    void q.push(msg(1));
    void q.push(msg(2));
    await Promise.resolve();
    expect(ready).toBe(false);
    void q.push(msg(3));
    await waiting;
    expect(ready).toBe(true);
  });

  it('resolves at once when enough wait already, and when the queue closes', async () => {
    const q = new MessageQueue(100);
    void q.push(msg(1));
    await q.whenHolding(1);
    const waiting = q.whenHolding(50);
    q.close();
    await waiting;
    expect(q.closed).toBe(true);
  });
});
