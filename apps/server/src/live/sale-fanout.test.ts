import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger } from '@surge/infra';
import { describe, expect, it } from 'vitest';
import { SaleFanout } from './sale-fanout.ts';
import { SharedSampler } from './shared-sampler.ts';

/** A response that keeps what is written to it. */
class FakeResponse extends EventEmitter {
  writes: (string | Buffer)[] = [];
  destroyed = false;
  status = 0;
  setHeader() {
    return this;
  }
  writeHead(status: number) {
    this.status = status;
    return this;
  }
  write(chunk: string | Buffer) {
    this.writes.push(chunk);
    return true;
  }
  end(chunk?: string | Buffer) {
    if (chunk) this.writes.push(chunk);
    this.emit('close');
    return this;
  }
}

const req = { resume: () => undefined, headers: {} } as unknown as IncomingMessage;

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

describe('SaleFanout', () => {
  it('serialises each frame once and writes the same Buffer to every subscriber of the sale', async () => {
    let remaining = 10;
    let reads = 0;
    const stringify = JSON.stringify;
    const closing = new AbortController();
    const fanout = new SaleFanout({
      sampler: new SharedSampler(),
      chargeRead: async () => undefined,
      read: async () => {
        reads++;
        return { id: 's', remaining, serverTime: new Date(1_800_000_000_000 + remaining).toISOString() };
      },
      tickMs: 5,
      pingMs: 60_000,
      clientOptions: { reconnectAfterInactivityMs: 25_000 },
      closing: closing.signal,
      log: createLogger('silent', 'test'),
    });
    const subscribers = Array.from({ length: 100 }, () => new FakeResponse());
    await Promise.all(
      subscribers.map((res) =>
        fanout.serve('s', req, res as unknown as ServerResponse, () => {
          throw new Error('fell back');
        }),
      ),
    );
    await until(() => subscribers.every((s) => s.writes.length >= 2));

    // Count the serialisations of the sale from here on: one per change, not one per subscriber.
    let saleStringified = 0;
    JSON.stringify = ((v: unknown, ...rest: []) => {
      if (v && typeof v === 'object' && 'remaining' in v) saleStringified++;
      return stringify(v, ...rest);
    }) as typeof JSON.stringify;
    try {
      remaining = 9;
      await until(() => subscribers.every((s) => s.writes.length >= 3));
    } finally {
      JSON.stringify = stringify;
    }
    // The fingerprint and the frame: two per change, however many subscribers.
    expect(saleStringified).toBe(2);
    expect(reads).toBeGreaterThan(1);

    const [first] = subscribers;
    expect(first?.status).toBe(200);
    expect(String(first?.writes[0])).toBe(
      'event: connected\ndata: {"reconnectAfterInactivityMs":25000}\n\n\n',
    );
    const frame = first?.writes[2];
    expect(String(frame)).toBe(
      `data: {"id":"s","remaining":9,"serverTime":"2027-01-15T08:00:00.009Z"}\nid: ${1_800_000_000_009}\n\n\n`,
    );
    for (const s of subscribers) expect(s.writes[2]).toBe(frame); // the very same Buffer

    // A late subscriber gets the current frame at once; shutdown sends `return` and ends all.
    const late = new FakeResponse();
    await fanout.serve('s', req, late as unknown as ServerResponse, () => undefined);
    expect(late.writes[1]).toBe(frame);
    closing.abort();
    for (const s of [...subscribers, late])
      expect(String(s.writes.at(-1))).toBe('event: return\ndata: \n\n\n');
    expect(fanout.size()).toBe(0);
  });

  it('hands a sale it cannot read back to tRPC, and takes only a plain live.sale input', async () => {
    const fanout = new SaleFanout({
      sampler: new SharedSampler(),
      chargeRead: async () => undefined,
      read: async () => {
        throw new Error('SALE_NOT_FOUND');
      },
      tickMs: 5,
      pingMs: 60_000,
      clientOptions: {},
      closing: new AbortController().signal,
      log: createLogger('silent', 'test'),
    });
    let fellBack = false;
    const res = new FakeResponse();
    await fanout.serve('nope', req, res as unknown as ServerResponse, () => {
      fellBack = true;
    });
    expect(fellBack).toBe(true);
    expect(res.writes).toEqual([]);

    // A client past its per-IP read limit: tRPC answers RATE_LIMITED, as for the procedure.
    const limited = new SaleFanout({
      sampler: new SharedSampler(),
      chargeRead: async () => {
        throw new Error('RATE_LIMITED');
      },
      read: async () => ({ serverTime: new Date().toISOString() }),
      tickMs: 5,
      pingMs: 60_000,
      clientOptions: {},
      closing: new AbortController().signal,
      log: createLogger('silent', 'test'),
    });
    let refused = false;
    const res2 = new FakeResponse();
    await limited.serve('abc', req, res2 as unknown as ServerResponse, () => {
      refused = true;
    });
    expect(refused).toBe(true);
    expect(res2.writes).toEqual([]);
    expect(limited.size()).toBe(0);

    const url = (q: string) => new URL(`http://x/trpc/live.sale?${q}`);
    const input = encodeURIComponent(JSON.stringify({ saleId: 'abc' }));
    expect(SaleFanout.wants(url(`input=${input}`), req)).toBe('abc');
    expect(SaleFanout.wants(url(`input=${input}&lastEventId=1`), req)).toBeNull();
    expect(SaleFanout.wants(url(`input=${encodeURIComponent('{"saleId":"ABC!"}')}`), req)).toBeNull();
    expect(SaleFanout.wants(url('input={'), req)).toBeNull();
    expect(SaleFanout.wants(new URL(`http://x/trpc/live.order?input=${input}`), req)).toBeNull();
  });
});
