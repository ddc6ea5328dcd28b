import { expect } from 'vitest';
import type { TestClient } from '../client.ts';
import { hotState, streamMessages } from '../inspect.ts';
import { createSale, type Stack, shoppers, type TestServer } from '../stack.ts';
import { send, show, target } from './wire.ts';

/**
 * The world of a bad-input file: the sales `fuzz` (which no bad request may touch) and
 * `fuzz-live` (which well-formed orders may buy from), a shopper's and the admin's cookies, and
 * what `fuzz` and the stream held before the first bad request — checked again by
 * `expectUntouched` once the file's bad requests are done.
 */

export function headerOf(c: TestClient): string {
  return [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** The sale `fuzz` that bad requests must leave untouched: its hot state. */
const fuzzState = async (ns: string) => {
  const s = await hotState(ns, 'fuzz');
  return { hot: s.hot, users: s.users, idem: s.idem, open: s.open, outbox: s.outbox };
};

export type Before = Awaited<ReturnType<typeof fuzzSetup>>;

/** The file's fixture: points the wire at the file's server, makes the sales and the callers. */
export async function fuzzSetup(stack: Stack, server: TestServer, admin: TestClient) {
  target.url = server.url;
  await createSale(admin, { id: 'fuzz', totalStock: 50, perUserLimit: 2 });
  await createSale(admin, { id: 'fuzz-live', totalStock: 20, perUserLimit: 3 });
  const [shopper] = await shoppers(server.url, 1);
  if (!shopper) throw new Error('no shopper');
  target.cookie.shopper = headerOf(shopper);
  target.cookie.admin = headerOf(admin);
  return { state: await fuzzState(stack.ns), messages: (await streamMessages(stack.ns)).length };
}

/** The admin cookie still authorizes: no bad request revoked it (an unknown sale is the answer). */
export const expectAdminSession = async () => {
  const r = await send('POST', '/trpc/admin.pauseSale', {
    body: '{"saleId":"no-such-sale"}',
    headers: { 'content-type': 'application/json', cookie: target.cookie.admin },
  });
  expect(r.json?.error?.data?.reason, show(r)).toBe('SALE_NOT_FOUND');
};

/**
 * After a file's bad requests: `fuzz` is as it was (nothing reserved), nothing was published,
 * the admin session still stands, and /healthz and /readyz answer 200.
 */
export async function expectUntouched(stack: Stack, before: Before) {
  expect(await fuzzState(stack.ns)).toEqual(before.state);
  await expectAdminSession();
  expect(before.state.hot.remaining).toBe('50');
  expect(await streamMessages(stack.ns)).toHaveLength(before.messages);
  expect((await send('GET', '/healthz')).status).toBe(200);
  const ready = await send('GET', '/readyz');
  expect(ready.status, show(ready)).toBe(200);
  const sale = await send('GET', `/trpc/sale.get?input=${encodeURIComponent('{"saleId":"fuzz"}')}`);
  expect(sale.json?.result?.data).toMatchObject({ remaining: 50, totalStock: 50, perUserLimit: 2 });
}
