import { ERROR_STATUS, type ErrorReason, isErrorReason } from '@surge/contracts';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { stackTest } from '../support/fixtures.ts';
import { inputText } from '../support/fuzz/arbitraries.ts';
import { MUTATIONS, PROCS, QUERIES } from '../support/fuzz/procedures.ts';
import { expectUntouched, fuzzSetup } from '../support/fuzz/setup.ts';
import { expectNamed4xx, MAX_URL, type Reply, send, show, target } from '../support/fuzz/wire.ts';

/**
 * docs/architecture.md#the-http-edge, property-based, for batches (`?batch=1`): more than 10
 * calls is 400 BATCH_TOO_LARGE however the commas are written; valid batches of 1..10 work; a
 * batch of malformed calls answers each call with a named reason, never a 5xx; and bad
 * requests reserve and publish nothing. The fuzzing kit: tests/support/fuzz/.
 */

/** The file's server with the sales `fuzz` and `fuzz-live`, the callers' cookies, and the state before. */
const it = stackTest().extend('before', { scope: 'file', auto: true }, async ({ stack, server, admin }) =>
  fuzzSetup(stack, server, admin),
);

describe('bad input never gets a 5xx and never reserves: batches', () => {
  it('a batch of 11 or more calls answers 400 BATCH_TOO_LARGE on GET and POST', async () => {
    const anyName = fc.oneof(
      fc.constantFrom(...PROCS.map((p) => p.path)),
      fc.stringMatching(/^[a-z.]{0,12}$/),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(anyName, { minLength: 11, maxLength: 60 }),
        fc.constantFrom<'GET' | 'POST'>('GET', 'POST'),
        fc.constantFrom('batch=1', 'batch=1&input=%7B%7D', 'input=%7B%7D&batch=1'),
        async (names, method, q) => {
          const path = `/trpc/${names.map(encodeURIComponent).join(',')}?${q}`;
          const r =
            method === 'GET'
              ? await send('GET', path)
              : await send('POST', path, { body: '{}', headers: { 'content-type': 'application/json' } });
          const where = `${method} ${names.length} calls ${path.slice(0, 200)}`;
          expect(expectNamed4xx(r, where), `${where} → ${show(r)}`).toBe('BATCH_TOO_LARGE');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a batch of 11 or more calls whose commas are percent-encoded (%2C, which tRPC decodes) also answers 400 BATCH_TOO_LARGE', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...QUERIES.map((p) => p.path)), { minLength: 11, maxLength: 30 }),
        fc.array(fc.constantFrom(',', '%2C', '%2c'), { minLength: 10, maxLength: 29 }),
        async (names, seps) => {
          fc.pre(seps.slice(0, names.length - 1).some((x) => x !== ','));
          const joined = names.map((n, i) => (i === 0 ? n : `${seps[i - 1] ?? ','}${n}`)).join('');
          const r = await send('GET', `/trpc/${joined}?batch=1`, {
            headers: { cookie: target.cookie.shopper },
          });
          const where = `GET /trpc/${joined}?batch=1 (${names.length} calls)`;
          expect(expectNamed4xx(r, where), `${where} → ${show(r)}`).toBe('BATCH_TOO_LARGE');
        },
      ),
      { numRuns: 30 },
    );
  });

  it('valid batches of 1..10 calls work: GET queries and POST session.start answer 200, one result per call', async () => {
    const queryCall = fc.constantFrom(
      { path: 'sale.get', input: { saleId: 'fuzz' } as unknown },
      { path: 'sale.list', input: undefined },
      { path: 'order.mine', input: { saleId: 'fuzz' } },
      { path: 'order.mine', input: undefined },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(queryCall, { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        async (calls, post) => {
          const names = calls.map((c) => c.path).join(',');
          let r: Reply;
          if (post) {
            const n = calls.length;
            const input = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), {}]));
            r = await send('POST', `/trpc/${Array(n).fill('session.start').join(',')}?batch=1`, {
              body: JSON.stringify(input),
              headers: { 'content-type': 'application/json', cookie: target.cookie.shopper },
            });
          } else {
            const input = Object.fromEntries(
              calls.flatMap((c, i) => (c.input ? [[String(i), c.input]] : [])),
            );
            r = await send(
              'GET',
              `/trpc/${names}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`,
              {
                headers: { cookie: target.cookie.shopper },
              },
            );
          }
          expect(r.status, show(r)).toBe(200);
          expect(Array.isArray(r.json), show(r)).toBe(true);
          expect(r.json).toHaveLength(calls.length);
          for (const item of r.json) expect(item.result, show(r)).toBeDefined();
          if (!post)
            calls.forEach((c, i) => {
              if (c.path === 'sale.get') expect(r.json[i].result.data.id).toBe('fuzz');
            });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('batches of up to 10 malformed query calls answer each call with a named reason, never a 5xx', async () => {
    const item = fc.constantFrom(...QUERIES).chain((p) => inputText(p, 300).map((text) => ({ p, text })));
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 10 }), async (items) => {
        const input = `{${items
          .flatMap(({ text }, i) => (text === undefined ? [] : [`"${i}":${text}`]))
          .join(',')}}`;
        const path = `/trpc/${items.map((x) => x.p.path).join(',')}?batch=1&input=${encodeURIComponent(input)}`;
        fc.pre(path.length < MAX_URL);
        const r = await send('GET', path, { headers: { cookie: target.cookie.shopper } });
        const where = `GET ${path.slice(0, 300)}`;
        expect(r.status, `${where} → ${show(r)}`).toBeLessThan(500);
        expect(Array.isArray(r.json), `${where} → ${show(r)}`).toBe(true);
        for (const one of r.json as { error?: { data?: { reason?: string; httpStatus?: number } } }[]) {
          if (!one.error) continue;
          const reason = one.error.data?.reason;
          expect(isErrorReason(reason), `${where} → ${show(r)}`).toBe(true);
          expect(ERROR_STATUS[reason as ErrorReason]).toBe(one.error.data?.httpStatus);
          expect(one.error.data?.httpStatus, `${where} → ${show(r)}`).toBeLessThan(500);
        }
      }),
      { numRuns: 80 },
    );
  });

  it('POST batches of up to 10 malformed mutation calls (and non-object batch inputs) answer each call with a named reason, never a 5xx', async () => {
    const usable = MUTATIONS.filter((p) => p.path !== 'admin.login');
    const item = fc
      .constantFrom(...usable)
      .chain((p) => inputText(p, 2000).map((text) => ({ p, text })))
      // valid inputs of state-changing calls are not sent (the cookies are the shopper's and the
      // admin's); in a batch, a missing input is `undefined`, valid for some schemas
      .filter(
        ({ p, text }) =>
          !(
            p.guarded.length > 0 &&
            p.schema.safeParse(text === undefined ? undefined : JSON.parse(text)).success
          ),
      );
    const wholeInput = fc.oneof(
      { weight: 4, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('[]', 'null', '"x"', '1', '[{}]', '{"0":1,"__proto__":{}}', '', '{'),
      },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 10 }), wholeInput, async (items, whole) => {
        const body =
          whole ??
          `{${items.flatMap(({ text }, i) => (text === undefined ? [] : [`"${i}":${text}`])).join(',')}}`;
        const path = `/trpc/${items.map((x) => x.p.path).join(',')}?batch=1`;
        // a whole-batch input leaves every call without its input: only the shopper's cookie then
        const cookie =
          whole === null ? `${target.cookie.shopper}; ${target.cookie.admin}` : target.cookie.shopper;
        const r = await send('POST', path, { body, headers: { 'content-type': 'application/json', cookie } });
        const where = `POST ${path} ${body.slice(0, 300)}`;
        expect(r.status, `${where} → ${show(r)}`).toBeLessThan(500);
        const answers = Array.isArray(r.json) ? r.json : [r.json];
        for (const one of answers as { error?: { data?: { reason?: string; httpStatus?: number } } }[]) {
          if (!one?.error) continue;
          const reason = one.error.data?.reason;
          expect(isErrorReason(reason), `${where} → ${show(r)}`).toBe(true);
          expect(ERROR_STATUS[reason as ErrorReason]).toBe(one.error.data?.httpStatus);
          expect(one.error.data?.httpStatus, `${where} → ${show(r)}`).toBeLessThan(500);
        }
      }),
      { numRuns: 80 },
    );
  });

  it('after all the bad requests nothing was reserved or published, and /healthz and /readyz answer 200', async ({
    stack,
    before,
  }) => {
    await expectUntouched(stack, before);
  });
});
