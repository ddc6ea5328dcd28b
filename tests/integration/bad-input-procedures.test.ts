import { createSaleInput, orderPlaceInput } from '@surge/contracts';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import type { TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { callerFor, inputText, printable } from '../support/fuzz/arbitraries.ts';
import { CALLS, call, PROCS, type Proc, parsesAs, ROUTER } from '../support/fuzz/procedures.ts';
import { expectAdminSession, expectUntouched, fuzzSetup, headerOf } from '../support/fuzz/setup.ts';
import { enc, expectNamed4xx, MAX_BODY, MAX_URL, send, show, target } from '../support/fuzz/wire.ts';
import { hotState, streamMessages } from '../support/inspect.ts';
import { shoppers } from '../support/stack.ts';

/**
 * docs/architecture.md#error-reasons, property-based, procedure by procedure: no input, however
 * malformed and from whichever caller, gives a 5xx; every refusal is a named reason whose HTTP
 * status is ERROR_STATUS[reason]; schema-valid but extreme sales and well-formed orders get
 * named answers; and bad requests reserve and publish nothing. Every query and mutation of the
 * router is called (the fuzzing kit: tests/support/fuzz/).
 */

/** The file's server with the sales `fuzz` and `fuzz-live`, the callers' cookies, and the state before. */
const it = stackTest().extend('before', { scope: 'file', auto: true }, async ({ stack, server, admin }) =>
  fuzzSetup(stack, server, admin),
);

describe('bad input never gets a 5xx and never reserves: procedure inputs', () => {
  it('the properties call every query and mutation of the router', () => {
    const fuzzed = ROUTER.filter((p) => p.kind !== 'subscription').map((p) => p.path);
    expect(
      PROCS.map((p) => p.path),
      'a procedure without an entry in CALLS',
    ).toEqual(fuzzed);
    expect(Object.keys(CALLS).sort(), 'an entry in CALLS for no procedure').toEqual([...fuzzed].sort());
  });

  it.each(PROCS.map((p) => [p.path, p] as const))(
    '%s answers malformed input (with and without a session / admin cookie) with a named 4xx whose status is ERROR_STATUS[reason], never a 5xx',
    async (_path, p) => {
      const huge = p.kind === 'query' ? 2500 : 40_000;
      const arb = fc
        .record({ caller: callerFor(p), text: inputText(p, huge) })
        .filter(({ caller, text }) => !(p.guarded.includes(caller.kind) && parsesAs(p, text)));
      await fc.assert(
        fc.asyncProperty(arb, async ({ caller, text }) => {
          fc.pre(p.kind === 'mutation' || enc(text ?? '').length < MAX_URL);
          const valid = parsesAs(p, text);
          const privileged =
            p.auth === 'none' ||
            (p.auth === 'session' && caller.kind === 'shopper') ||
            (p.auth === 'admin' && caller.kind === 'admin');
          const r = await call(p, caller, text);
          const where = `${p.path} as ${caller.kind} with ${text?.slice(0, 200)}`;
          const reason = expectNamed4xx(r, where, valid && privileged);
          const tooBig = text !== undefined && Buffer.byteLength(text) > MAX_BODY;
          if (tooBig) {
            expect(reason, where).toBe('PAYLOAD_TOO_LARGE');
          } else if (!valid) {
            const allowed: string[] = ['VALIDATION'];
            if (p.auth === 'admin' && !privileged) allowed.push('NOT_ADMIN');
            if (p.path === 'admin.login') allowed.push('RATE_LIMITED');
            expect(allowed, `${where} → ${show(r)}`).toContain(reason);
            // a schema refusal names the fields (an empty mutation body is a JSON parse error)
            if (reason === 'VALIDATION' && (text !== undefined || p.kind === 'query'))
              expect(r.json.error.data.fieldErrors, where).toBeTypeOf('object');
          } else if (!privileged) {
            // a valid input without the right cookie: the missing credential is the answer
            expect(reason, `${where} → ${show(r)}`).toBe(p.auth === 'admin' ? 'NOT_ADMIN' : 'NO_SESSION');
          }
        }),
        { numRuns: 120 },
      );
    },
  );

  it('raw bodies to POST /trpc/order.place (arbitrary text, invalid JSON, binary, empty) answer 400 VALIDATION or another named 4xx', async () => {
    const body = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      printable,
      fc.uint8Array({ maxLength: 2000 }),
      fc.constantFrom(
        '',
        ' ',
        '\n',
        '{',
        '}',
        '{"saleId":',
        '{"saleId":"fuzz",}',
        "{'saleId':'fuzz'}",
        '{saleId:"fuzz"}',
        'undefined',
        'NaN',
        'Infinity',
        '\u0000',
        '\ufeff{"saleId":',
        '{"saleId":"fuzz","quantity":1,"idempotencyKey":"fuzz-key-0001"}garbage',
        '{"saleId":"fuzz","quantity":1,"idempotencyKey":"fuzz-key-0001"}{}',
        '{"0":{"saleId":"fuzz","quantity":1,"idempotencyKey":"fuzz-key-0001"}}',
        '[{"saleId":"fuzz","quantity":1,"idempotencyKey":"fuzz-key-0001"}]',
        '{"json":{"saleId":"fuzz","quantity":1,"idempotencyKey":"fuzz-key-0001"}}',
        '{"__proto__":{"saleId":"fuzz","quantity":1,"idempotencyKey":"fuzz-key-0001"}}',
        '\xff\xfe{',
        '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
        `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
        `{"a":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_001)}`,
      ),
    );
    const p = PROCS.find((x) => x.path === 'order.place') as Proc;
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const text = typeof b === 'string' ? b : Buffer.from(b).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text.trim() === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = Symbol('invalid');
        }
        fc.pre(!p.schema.safeParse(parsed).success);
        const r = await send('POST', '/trpc/order.place', {
          body: b,
          headers: { cookie: target.cookie.shopper, 'content-type': 'application/json' },
        });
        const reason = expectNamed4xx(r, `order.place body ${JSON.stringify(text.slice(0, 200))}`);
        expect(reason).toBe('VALIDATION');
      }),
      { numRuns: 150 },
    );
  });

  /** Schema-valid createSale inputs (fresh ids): only names, or only dates, vary widely. */
  let saleSeq = 0;
  const createSaleNeverFails = async (fields: fc.Arbitrary<Record<string, unknown>>) => {
    const numbers = fc.record({
      priceCents: fc.oneof(fc.constantFrom(0, 100_000_000), fc.integer({ min: 0, max: 100_000_000 })),
      totalStock: fc.oneof(fc.constantFrom(0, 10_000_000), fc.integer({ min: 0, max: 10_000_000 })),
      perUserLimit: fc.oneof(fc.constantFrom(1, 100), fc.integer({ min: 1, max: 100 })),
    });
    await expectAdminSession();
    await fc.assert(
      fc.asyncProperty(fields, numbers, async (f, n) => {
        const body = { id: `cs-${saleSeq++}`, name: 'sale', ...n, ...f };
        fc.pre(createSaleInput.safeParse(body).success);
        const r = await send('POST', '/trpc/admin.createSale', {
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json', cookie: target.cookie.admin },
        });
        expectNamed4xx(r, `admin.createSale ${JSON.stringify(body)}`, true);
      }),
      { numRuns: 60 },
    );
  };

  it('admin.createSale with schema-valid random names (any unicode, NUL, lone surrogates, 120 units) answers 200 or a named 4xx, never a 5xx', async () => {
    const name = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
      fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\u202e', '😀'.repeat(60), `${' '.repeat(100)}x`),
    );
    await createSaleNeverFails(fc.record({ name }));
  });

  it('admin.createSale with schema-valid random dates (years 0000 to 9999, endsAt given or defaulted) answers 200 or a named 4xx, never a 5xx', async () => {
    const date = fc.oneof(
      fc
        .date({
          min: new Date('0000-01-01T00:00:00.000Z'),
          max: new Date('9999-12-31T23:59:59.999Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString()),
      fc.constantFrom(
        '0000-01-01T00:00:00Z',
        '0001-01-01T00:00:00Z',
        '9999-12-31T23:59:59Z',
        '2024-01-01T00:00:00+14:00',
      ),
    );
    await createSaleNeverFails(fc.record({ startsAt: date, endsAt: date }, { requiredKeys: [] }));
  });

  it('admin.createSale with schema-valid far-future dates (startsAt up to 9999-12-31, endsAt defaulted to +24 h or given) answers 200 or a named 4xx, never a 5xx', async () => {
    const future = fc
      .date({
        min: new Date('2100-01-01T00:00:00.000Z'),
        max: new Date('9999-12-31T23:59:59.999Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
    await createSaleNeverFails(
      fc.oneof(
        fc.record({ startsAt: future }),
        fc.record({ endsAt: future }),
        fc.constantFrom({ startsAt: '9999-12-31T23:59:59Z' }, { endsAt: '9999-12-31T23:59:59Z' }),
      ),
    );
  });

  // last but one: nothing so far may have reserved or published
  it('after all the bad requests nothing was reserved or published, and /healthz and /readyz answer 200', async ({
    stack,
    before,
  }) => {
    await expectUntouched(stack, before);
  });

  // last: it reserves, on other sales
  it('well-formed order.place calls with random sale ids, keys and quantities get one of the named answers with its status', async ({
    stack,
    server,
    before,
  }) => {
    const users = await shoppers(server.url, 3);
    const list = await send('GET', '/trpc/sale.list');
    const existing = new Set(((list.json?.result?.data ?? []) as { id: string }[]).map((s) => s.id));
    const keyPool = ['fuzz-key-pool-1', 'fuzz-key-pool-2', 'fuzz-key-pool-3'];
    const accepted = new Map<string, { qty: number; user: number }>();
    const call = fc.record({
      correlationId: fc.option(fc.oneof(printable, fc.stringMatching(/^[A-Za-z0-9_.:-]{1,128}$/))),
      user: fc.integer({ min: 0, max: users.length - 1 }),
      saleId: fc.oneof(
        { weight: 3, arbitrary: fc.constant('fuzz-live') },
        { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,63}$/) },
      ),
      quantity: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 100 })),
      idempotencyKey: fc.oneof(fc.constantFrom(...keyPool), fc.stringMatching(/^[A-Za-z0-9_.:-]{8,128}$/)),
    });
    const ALLOWED = new Set<string>([
      'OK',
      'SALE_NOT_FOUND',
      'USER_LIMIT',
      'SOLD_OUT',
      'IDEMPOTENCY_MISMATCH',
      'IDEMPOTENCY_IN_FLIGHT',
      // other sales created by the admin properties may not have started, or have ended
      'SALE_NOT_STARTED',
      'SALE_ENDED',
    ]);
    let published = 0;
    await fc.assert(
      fc.asyncProperty(call, async ({ user, correlationId, ...input }) => {
        expect(orderPlaceInput.safeParse(input).success).toBe(true);
        const u = users[user] as TestClient;
        const headers: Record<string, string> = { 'content-type': 'application/json', cookie: headerOf(u) };
        if (correlationId !== null) headers['x-correlation-id'] = correlationId;
        const r = await send('POST', '/trpc/order.place', { body: JSON.stringify(input), headers });
        const where = `order.place ${JSON.stringify(input)} as user ${user}`;
        const answer = expectNamed4xx(r, where, true);
        expect(ALLOWED, `${where} → ${show(r)}`).toContain(answer);
        if (!existing.has(input.saleId)) expect(answer, where).toBe('SALE_NOT_FOUND');
        if (answer === 'OK') {
          const data = r.json.result.data as { orderId: string; replayed: boolean };
          if (!data.replayed) published++;
          if (!data.replayed && input.saleId === 'fuzz-live') {
            expect(input.quantity, where).toBeLessThanOrEqual(3);
            accepted.set(data.orderId, { qty: input.quantity, user });
          }
        }
      }),
      { numRuns: 150 },
    );
    // I1/I5 on fuzz-live: no oversell, no user over its limit, and the hot state agrees.
    const taken = [...accepted.values()].reduce((s, a) => s + a.qty, 0);
    expect(taken).toBeLessThanOrEqual(20);
    for (let u = 0; u < users.length; u++) {
      const mine = [...accepted.values()].filter((a) => a.user === u).reduce((s, a) => s + a.qty, 0);
      expect(mine).toBeLessThanOrEqual(3);
    }
    const live = await hotState(stack.ns, 'fuzz-live');
    expect(Number(live.hot.remaining)).toBe(20 - taken);
    expect((await streamMessages(stack.ns)).length - before.messages).toBe(published);
    expect((await send('GET', '/readyz')).status).toBe(200);
  });
});
