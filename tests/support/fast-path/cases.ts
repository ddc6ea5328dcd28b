// Over 400 lines: one ordered list of cases over shared server state (a session, sales, keys).
import { Readable } from 'node:stream';
import { request } from 'undici';
import { agent, TestClient } from '../client.ts';
import type { World } from './world.ts';

/**
 * The requests tests/integration/fast-path.test.ts sends to both servers: each case is one
 * request, whether the fast server must answer it through the fast path, and the reason the
 * official adapter gives (so a case tests what it says).
 */

export interface Raw {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

interface Case {
  name: string;
  /** Whether the fast server answers it through the fast path (else the adapter). */
  fast: boolean;
  /** The reason of the official answer (`ok`: a 2xx), to be sure the case tests what it says. */
  expect?: string;
  run: (w: World) => Promise<Raw>;
}

const CORRELATION = 'fp-corr-0001';
const JSON_HEADERS = { 'content-type': 'application/json', 'x-correlation-id': CORRELATION };

function post(client: TestClient, path: string, body: string, headers: Record<string, string> = {}) {
  return client.raw('POST', path.startsWith('/') ? path : `/trpc/${path}`, {
    body,
    headers: { ...JSON_HEADERS, ...headers },
  });
}

const json = (client: TestClient, path: string, input: unknown, headers: Record<string, string> = {}) =>
  post(client, path, JSON.stringify(input), headers);

/** Bodies TestClient.raw cannot send: raw bytes, or a stream (no Content-Length: chunked). */
async function send(w: World, client: TestClient, path: string, body: Buffer | Readable): Promise<Raw> {
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await request(`${w.url}/trpc/${path}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { ...JSON_HEADERS, ...(cookie ? { cookie } : {}) },
    body,
  });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

/** 80 KiB of JSON whitespace in 16 KiB chunks, with no Content-Length. */
const oversized = () =>
  Readable.from(
    Array.from({ length: 5 }, () => Buffer.alloc(16_384, 0x20)),
    { objectMode: false },
  );

const place = (w: World, n: number, over: Record<string, unknown> = {}) => ({
  saleId: `${w.p}open`,
  quantity: 1,
  idempotencyKey: `${w.p}key-${String(n).padStart(4, '0')}`,
  ...over,
});

export const CASES: Case[] = [
  {
    name: 'session.start, no cookie: a new session and its cookie',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, 'session.start', {}),
  },
  {
    name: 'session.start with the cookie: the same user, cookie renewed',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, 'session.start', {}),
  },
  {
    name: 'session.start with an empty body',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => post(w.shopper, 'session.start', ''),
  },
  {
    name: 'order.place accepted',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, 'order.place', place(w, 1)),
  },
  {
    name: 'order.place replayed (same key, same order)',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, 'order.place', place(w, 1)),
  },
  {
    name: 'order.place IDEMPOTENCY_MISMATCH (same key, other quantity)',
    fast: true,
    expect: 'IDEMPOTENCY_MISMATCH',
    run: (w) => json(w.shopper, 'order.place', place(w, 1, { quantity: 2 })),
  },
  {
    name: 'order.place USER_LIMIT',
    fast: true,
    expect: 'USER_LIMIT',
    run: (w) => json(w.shopper, 'order.place', place(w, 2, { quantity: 10 })),
  },
  {
    name: 'order.place SOLD_OUT',
    fast: true,
    expect: 'SOLD_OUT',
    run: (w) => json(w.shopper, 'order.place', place(w, 3, { saleId: `${w.p}one` })),
  },
  // The refusals of a spike: the fast path's lean order.place answers them from prebuilt bodies
  // (apps/server/src/orders/direct-place.ts); the second of each kind is the prebuilt one.
  {
    name: 'order.place SOLD_OUT again (a prebuilt answer)',
    fast: true,
    expect: 'SOLD_OUT',
    run: (w) => json(w.shopper, 'order.place', place(w, 30, { saleId: `${w.p}one` })),
  },
  {
    name: 'order.place replayed after the sale sold out',
    fast: true,
    expect: 'ok',
    run: (w) =>
      json(w.buyer, 'order.place', {
        saleId: `${w.p}one`,
        quantity: 1,
        idempotencyKey: `${w.p}sell-out-1`,
      }),
  },
  {
    name: 'order.place NOT_ADMITTED: a queued sale, no admission token',
    fast: true,
    expect: 'NOT_ADMITTED',
    run: (w) => json(w.shopper, 'order.place', place(w, 31, { saleId: `${w.p}queued` })),
  },
  {
    name: 'order.place NOT_ADMITTED again (a prebuilt answer)',
    fast: true,
    expect: 'NOT_ADMITTED',
    run: (w) => json(w.shopper, 'order.place', place(w, 32, { saleId: `${w.p}queued` })),
  },
  {
    name: 'order.place NOT_ADMITTED: a forged admission token',
    fast: true,
    expect: 'NOT_ADMITTED',
    run: (w) =>
      json(
        w.shopper,
        'order.place',
        place(w, 33, { saleId: `${w.p}queued`, admissionToken: 'forged.token' }),
      ),
  },
  {
    name: 'order.place SALE_PAUSED',
    fast: true,
    expect: 'SALE_PAUSED',
    run: (w) => json(w.shopper, 'order.place', place(w, 34, { saleId: `${w.p}paused` })),
  },
  {
    name: 'order.place SALE_PAUSED again (a prebuilt answer)',
    fast: true,
    expect: 'SALE_PAUSED',
    run: (w) => json(w.shopper, 'order.place', place(w, 35, { saleId: `${w.p}paused` })),
  },
  {
    name: 'queue.join a queued sale: a waiting ticket',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, 'queue.join', { saleId: `${w.p}queued` }),
  },
  {
    name: 'queue.join again: the same place',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, 'queue.join', { saleId: `${w.p}queued` }),
  },
  {
    name: 'queue.join an unqueued sale: admitted, no token',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, 'queue.join', { saleId: `${w.p}open` }),
  },
  {
    name: 'queue.join SALE_NOT_FOUND',
    fast: true,
    expect: 'SALE_NOT_FOUND',
    run: (w) => json(w.shopper, 'queue.join', { saleId: `${w.p}nowhere` }),
  },
  {
    name: 'queue.join SALE_NOT_FOUND again',
    fast: true,
    expect: 'SALE_NOT_FOUND',
    run: (w) => json(w.shopper, 'queue.join', { saleId: `${w.p}nowhere` }),
  },
  {
    name: 'queue.join NO_SESSION (no cookie)',
    fast: true,
    expect: 'NO_SESSION',
    run: (w) => json(new TestClient(w.url), 'queue.join', { saleId: `${w.p}queued` }),
  },
  {
    name: 'queue.join VALIDATION: an unknown key',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => json(w.shopper, 'queue.join', { saleId: `${w.p}queued`, extra: 1 }),
  },
  {
    name: 'order.place SALE_NOT_FOUND',
    fast: true,
    expect: 'SALE_NOT_FOUND',
    run: (w) => json(w.shopper, 'order.place', place(w, 4, { saleId: `${w.p}nowhere` })),
  },
  {
    name: 'order.place NO_SESSION (no cookie)',
    fast: true,
    expect: 'NO_SESSION',
    run: (w) => json(new TestClient(w.url), 'order.place', place(w, 5)),
  },
  {
    name: 'order.place VALIDATION: a missing field',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => json(w.shopper, 'order.place', { saleId: `${w.p}open`, quantity: 1 }),
  },
  {
    name: 'order.place VALIDATION: a wrong type',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => json(w.shopper, 'order.place', place(w, 6, { quantity: 'two' })),
  },
  {
    name: 'order.place VALIDATION: an unknown key',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => json(w.shopper, 'order.place', place(w, 7, { coupon: 'FREE' })),
  },
  {
    name: 'order.place VALIDATION: several fields at once',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => json(w.shopper, 'order.place', { saleId: 'NOT A SALE', quantity: 0, extra: true }),
  },
  {
    name: "order.place with an empty body ''",
    fast: true,
    expect: 'VALIDATION',
    run: (w) => post(w.shopper, 'order.place', ''),
  },
  {
    name: 'order.place with invalid JSON `{`',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => post(w.shopper, 'order.place', '{'),
  },
  {
    name: 'order.place with JSON null',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => post(w.shopper, 'order.place', 'null'),
  },
  {
    name: 'order.place with a JSON array',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => post(w.shopper, 'order.place', '[1,2]'),
  },
  {
    name: 'order.place with a JSON string',
    fast: true,
    expect: 'VALIDATION',
    run: (w) => post(w.shopper, 'order.place', '"x"'),
  },
  {
    name: 'order.place with a UTF-8 byte order mark before the JSON',
    fast: true,
    expect: 'ok',
    run: (w) => post(w.shopper, 'order.place', `\uFEFF${JSON.stringify(place(w, 8))}`),
  },
  {
    name: 'order.place with Content-Type application/json; charset=utf-8',
    fast: true,
    expect: 'ok',
    run: (w) =>
      json(w.shopper, 'order.place', place(w, 9), { 'content-type': 'Application/JSON; charset=utf-8' }),
  },
  {
    name: 'order.place at a percent-encoded path (/trpc/order%2Eplace)',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, '/trpc/order%2Eplace', place(w, 10)),
  },
  {
    name: 'order.place with a malformed x-correlation-id (a fresh one is made)',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.shopper, 'order.place', place(w, 11), { 'x-correlation-id': 'not a valid id!' }),
  },
  {
    name: 'order.place with a chunked body over 64 KiB (no Content-Length)',
    fast: true,
    expect: 'PAYLOAD_TOO_LARGE',
    run: (w) => send(w, w.shopper, 'order.place', oversized()),
  },
  {
    name: 'admin.login BAD_CREDENTIALS',
    fast: true,
    expect: 'BAD_CREDENTIALS',
    run: (w) => json(new TestClient(w.url), 'admin.login', { password: 'wrong-password' }),
  },
  {
    name: 'admin.login accepted (admin cookie)',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.second, 'admin.login', { password: w.adminPassword }),
  },
  {
    name: 'admin.createSale SALE_EXISTS',
    fast: true,
    expect: 'SALE_EXISTS',
    run: (w) =>
      json(w.admin, 'admin.createSale', {
        id: `${w.p}open`,
        name: 'again',
        priceCents: 1000,
        totalStock: 10,
        perUserLimit: 1,
      }),
  },
  {
    name: 'admin.createSale accepted, invalid UTF-8 in the name (decoded the same way)',
    fast: true,
    expect: 'ok',
    run: (w) =>
      send(
        w,
        w.admin,
        'admin.createSale',
        Buffer.concat([
          Buffer.from(`{"id":"${w.p}bytes","name":"caf`),
          Buffer.from([0xc3, 0x28, 0xff, 0xe2, 0x82]),
          Buffer.from(
            '","priceCents":100,"totalStock":5,"perUserLimit":1,"startsAt":"2030-01-01T00:00:00.000Z"}',
          ),
        ]),
      ),
  },
  {
    name: 'admin.pauseSale NOT_ADMIN',
    fast: true,
    expect: 'NOT_ADMIN',
    run: (w) => json(new TestClient(w.url), 'admin.pauseSale', { saleId: `${w.p}open` }),
  },
  {
    name: 'admin.pauseSale NOT_ADMIN before the (invalid) input is read',
    fast: true,
    expect: 'NOT_ADMIN',
    run: (w) => post(new TestClient(w.url), 'admin.pauseSale', '{"saleId":'),
  },
  {
    name: 'admin.pauseSale NOT_ADMIN before an oversized chunked body is judged',
    fast: true,
    expect: 'NOT_ADMIN',
    run: (w) => send(w, new TestClient(w.url), 'admin.pauseSale', oversized()),
  },
  {
    name: 'admin.logout (the admin cookie cleared)',
    fast: true,
    expect: 'ok',
    run: (w) => json(w.second, 'admin.logout', {}),
  },
  {
    name: 'POST to a query (sale.list): the adapter answers',
    fast: false,
    expect: 'METHOD_NOT_ALLOWED',
    run: (w) => json(w.shopper, 'sale.list', {}),
  },
  {
    name: 'POST to a subscription (live.sale): the adapter answers',
    fast: false,
    run: (w) => json(w.shopper, 'live.sale', { saleId: `${w.p}open` }),
  },
  {
    name: 'an unknown procedure: the adapter answers 404',
    fast: false,
    expect: 'PROCEDURE_NOT_FOUND',
    run: (w) => json(w.shopper, 'order.nothing', {}),
  },
  {
    name: 'trpc-accept: application/jsonl: the adapter answers',
    fast: false,
    run: (w) => json(w.shopper, 'order.place', place(w, 12), { 'trpc-accept': 'application/jsonl' }),
  },
  {
    name: 'Accept: application/jsonl: the adapter answers',
    fast: false,
    run: (w) => json(w.shopper, 'order.place', place(w, 13), { accept: 'application/jsonl' }),
  },
  {
    name: 'a batch of one (?batch=1): the adapter answers',
    fast: false,
    run: (w) => post(w.shopper, '/trpc/order.place?batch=1', JSON.stringify({ 0: place(w, 14) })),
  },
];
