// Over 400 lines: one property table for every procedure; the split into files is the polish branch's.
import { Readable } from 'node:stream';
import {
  createSaleInput,
  ERROR_STATUS,
  type ErrorReason,
  isErrorReason,
  orderPlaceInput,
} from '@surge/contracts';
import type { AnyTRPCProcedure } from '@trpc/server';
import fc from 'fast-check';
import { request } from 'undici';
import { describe, expect } from 'vitest';
import { z } from 'zod';
import { appRouter } from '../../apps/server/src/trpc/root.ts';
import { agent, type TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { hotState, streamMessages } from '../support/inspect.ts';
import { createSale, shoppers } from '../support/stack.ts';

/**
 * SPEC §5, property-based: no input, however malformed, gives a 5xx; every refusal is a named
 * reason whose HTTP status is ERROR_STATUS[reason]; the HTTP guards (content type, Origin, body
 * cap, batch cap, GET on a mutation, unknown procedure) answer with their reasons; and bad
 * requests reserve and publish nothing.
 */

const MAX_BODY = 64 * 1024;
/** Node's default header limit is 16 KiB: query strings stay well below it. */
const MAX_URL = 12_000;

// ---------------------------------------------------------------------------------------------
// The wire

interface Reply {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a parsed answer of unknown shape
  json: any;
}

let baseUrl = '';

async function send(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS',
  path: string,
  opts: { body?: string | Uint8Array | Readable; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await request(`${baseUrl}${path}`, {
    method,
    dispatcher: agent,
    headers: opts.headers,
    body: opts.body,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, text, json };
}

/** encodeURIComponent that does not throw on lone surrogates (they become U+FFFD). */
function enc(s: string): string {
  return encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));
}

function show(r: Reply): string {
  return `${r.status} ${r.text.slice(0, 300)}`;
}

/**
 * The refusal's reason; asserts it is named and that the HTTP status is ERROR_STATUS[reason]. A
 * batch-shaped answer (`?batch=1`) is judged by its single item.
 */
function namedReason(r: Reply, where: string): ErrorReason {
  const answer = Array.isArray(r.json) && r.json.length === 1 ? r.json[0] : r.json;
  const data = answer?.error?.data;
  const reason = data?.reason;
  if (!isErrorReason(reason)) throw new Error(`${where}: no named reason in ${show(r)}`);
  if (r.status !== ERROR_STATUS[reason] || data.httpStatus !== r.status)
    throw new Error(
      `${where}: ${reason} answered with HTTP ${r.status} (data.httpStatus ${data.httpStatus})`,
    );
  return reason;
}

/** A 4xx with a named reason (never a 5xx), or 200 when `okAllowed`. */
function expectNamed4xx(r: Reply, where: string, okAllowed = false): ErrorReason | 'OK' {
  if (r.status >= 500) throw new Error(`${where}: 5xx ${show(r)}`);
  if (r.status === 200) {
    if (!okAllowed) throw new Error(`${where}: unexpected 200 ${show(r)}`);
    return 'OK';
  }
  const reason = namedReason(r, where);
  expect(r.status, where).toBeGreaterThanOrEqual(400);
  expect(r.status, where).toBeLessThan(500);
  return reason;
}

// ---------------------------------------------------------------------------------------------
// Procedures and who calls them

type ClientKind = 'shopper' | 'admin' | 'anon' | 'forged';
type Schema = { safeParse(v: unknown): { success: boolean } };

interface Proc {
  path: string;
  kind: 'query' | 'mutation';
  schema: Schema;
  /** A valid input, the starting point of the malformed ones (undefined: takes none). */
  base: Record<string, unknown> | undefined;
  auth: 'none' | 'session' | 'admin';
  clients: ClientKind[];
  /** Valid inputs from these callers would change state (reserve, pause, revoke…): never sent. */
  guarded: ClientKind[];
}

/** How the properties call each query and mutation of the router (the router gives the rest). */
const CALLS: Record<string, Omit<Proc, 'path' | 'kind' | 'schema'>> = {
  'session.start': { base: {}, auth: 'none', clients: ['shopper', 'anon', 'forged'], guarded: [] },
  'sale.list': { base: undefined, auth: 'none', clients: ['shopper', 'anon'], guarded: [] },
  'sale.get': { base: { saleId: 'fuzz' }, auth: 'none', clients: ['shopper', 'anon'], guarded: [] },
  'order.place': {
    // `fuzz` has no waiting room: the token is not judged there, whatever it holds.
    base: { saleId: 'fuzz', quantity: 1, idempotencyKey: 'fuzz-key-0001', admissionToken: 'fuzz-token' },
    auth: 'session',
    clients: ['shopper', 'anon', 'admin', 'forged'],
    guarded: ['shopper'],
  },
  'order.get': {
    base: { orderId: 'ord-0001' },
    auth: 'session',
    clients: ['shopper', 'anon', 'forged'],
    guarded: [],
  },
  'order.mine': {
    base: { saleId: 'fuzz' },
    auth: 'session',
    clients: ['shopper', 'anon', 'forged'],
    guarded: [],
  },
  // SPEC §8. `fuzz` has no waiting room: a valid join answers `admitted` and writes nothing.
  'queue.join': {
    base: { saleId: 'fuzz' },
    auth: 'session',
    clients: ['shopper', 'anon', 'forged'],
    guarded: [],
  },
  'queue.get': {
    base: { saleId: 'fuzz' },
    auth: 'session',
    clients: ['shopper', 'anon', 'forged'],
    guarded: [],
  },
  'admin.setAdmission': {
    base: { saleId: 'fuzz', admitPerSecond: 10 },
    auth: 'admin',
    clients: ['admin', 'anon', 'forged'],
    guarded: ['admin'],
  },
  'admin.login': { base: { password: 'not-the-password' }, auth: 'none', clients: ['anon'], guarded: [] },
  'admin.logout': { base: {}, auth: 'none', clients: ['admin', 'anon', 'forged'], guarded: ['admin'] },
  'admin.createSale': {
    base: {
      id: 'fuzz-new',
      name: 'new',
      priceCents: 100,
      totalStock: 10,
      perUserLimit: 1,
      queue: { admitPerSecond: 10, tokenTtlS: 60, outstandingFactor: 2 },
    },
    auth: 'admin',
    clients: ['admin', 'anon', 'forged'],
    guarded: [],
  },
  ...Object.fromEntries(
    ['admin.pauseSale', 'admin.resumeSale', 'admin.flushCache'].map((path) => [
      path,
      {
        base: { saleId: 'fuzz' },
        auth: 'admin',
        clients: ['admin', 'anon', 'forged'],
        guarded: ['admin'],
      } satisfies Omit<Proc, 'path' | 'kind' | 'schema'>,
    ]),
  ),
  'admin.restock': {
    base: { saleId: 'fuzz', quantity: 1 },
    auth: 'admin',
    clients: ['admin', 'anon', 'forged'],
    guarded: ['admin'],
  },
  'admin.dlq.list': { base: undefined, auth: 'admin', clients: ['admin', 'anon', 'forged'], guarded: [] },
  ...Object.fromEntries(
    ['admin.dlq.replay', 'admin.dlq.discard'].map((path) => [
      path,
      {
        base: { ids: ['00000000-0000-4000-8000-000000000000'] },
        auth: 'admin',
        clients: ['admin', 'anon', 'forged'],
        guarded: ['admin'],
      } satisfies Omit<Proc, 'path' | 'kind' | 'schema'>,
    ]),
  ),
};

/**
 * Every procedure of the router, from the router itself: its path, its kind and its input
 * schema. Its `_def.procedures` is flat at run time (`admin.dlq.list`), whatever its type says.
 */
const ROUTER = Object.entries(appRouter._def.procedures as unknown as Record<string, AnyTRPCProcedure>).map(
  ([path, p]) => ({ path, kind: p._def.type, schema: p._def.inputs[0] as Schema | undefined }),
);
/** The queries and mutations (subscriptions are SSE streams: tests/integration/live.test.ts). */
const PROCS: Proc[] = ROUTER.flatMap(({ path, kind, schema }) => {
  const calls = CALLS[path];
  if (kind === 'subscription' || !calls) return [];
  // A procedure without an input parser ignores whatever input it is sent.
  return [{ path, kind, schema: schema ?? z.unknown(), ...calls }];
});

const KNOWN_PATHS = new Set(ROUTER.map((p) => p.path));
const MUTATIONS = PROCS.filter((p) => p.kind === 'mutation');
const QUERIES = PROCS.filter((p) => p.kind === 'query');

/** Cookie headers of the callers (forged ones are generated). */
const cookieOf: Record<'shopper' | 'admin', string> = { shopper: '', admin: '' };

function headerOf(c: TestClient): string {
  return [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

// ---------------------------------------------------------------------------------------------
// Generators: raw JSON texts, so that `__proto__` keys, duplicate keys and number tokens that
// JSON.stringify never writes (1e400, -0, 100.0000000000000001) reach the server as such.

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
});

const ODD_TOKENS = [
  'null',
  'true',
  'false',
  '[]',
  '{}',
  '0',
  '-0',
  '-1',
  '1.5',
  '2e0',
  '1E2',
  '101',
  '1000001',
  '10000001',
  '100000001',
  '1e400',
  '-1e400',
  '1e-400',
  '100.0000000000000001',
  '9007199254740993',
  '"1"',
  '"NaN"',
  '"Infinity"',
  '"-Infinity"',
  '"null"',
  '"undefined"',
  '"true"',
  '"0x10"',
  '"1e3"',
  '" 1 "',
  '"__proto__"',
  '"constructor"',
  '"prototype"',
  '""',
  '" "',
  '"   "',
  '"\\u0000"',
  '"fuzz\\u0000"',
  '"fuzz\\n"',
  '"FUZZ"',
  '"fuzz "',
  '"-fuzz"',
  '"../fuzz"',
  '"fuzz/../x"',
  '"*"',
  '"fuzz*"',
  '"{fuzz}"',
  '"\\ud800"',
  '"𝕊𝕦𝕣𝕘𝕖"',
  '"é"',
  '"\\u202e"',
  '"\' OR 1=1 --"',
  '"<script>alert(1)</script>"',
  '"%00"',
  '"2024-01-01T00:00:00Z"',
  '"2099-01-01T00:00:00Z"',
  '"1970-01-01T00:00:00.000+00:00"',
  '"2024-02-30T00:00:00Z"',
  '"2024-13-01T00:00:00Z"',
  '"2024-01-01T24:00:00Z"',
  '"2024-12-31T23:59:60Z"',
  '"not-a-date"',
  '"0000-01-01T00:00:00Z"',
  '"9999-12-31T23:59:59Z"',
  JSON.stringify('x'.repeat(121)),
  JSON.stringify('k'.repeat(129)),
  JSON.stringify('a'.repeat(65)),
  JSON.stringify('o'.repeat(65)),
  JSON.stringify('p'.repeat(257)),
  '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"saleId":"fuzz"}',
  '[1,2,3]',
  '[null]',
  '["fuzz"]',
  '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]',
];

const EXTRA_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'then',
  'userId',
  'isAdmin',
  'status',
  '',
  ' ',
  '0',
  'length',
];

/** One raw JSON value; `huge` bounds the long strings (bytes on the wire). */
function weirdJson(huge: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ODD_TOKENS) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map((s) => JSON.stringify(s)) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => JSON.stringify(s)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: huge }), fc.constantFrom('a', '-', '0', 'é', '😀', '\\u0000'))
        .map(([n, c]) => `"${c.repeat(Math.max(1, Math.floor(n / Buffer.byteLength(c))))}"`),
    },
    { weight: 1, arbitrary: fc.double().map((d) => (Number.isFinite(d) ? JSON.stringify(d) : 'null')) },
    { weight: 1, arbitrary: fc.integer().map(String) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 50, max: Math.min(20_000, huge / 2) })
        .map((n) => '['.repeat(n) + ']'.repeat(n)),
    },
  );
}

type Edit = { t: 'keep' } | { t: 'drop' } | { t: 'set'; v: string };

/** Malformed (mostly) inputs for `p`, as JSON text; undefined means no input at all. */
function inputText(p: Proc, huge: number): fc.Arbitrary<string | undefined> {
  const w = weirdJson(huge);
  const base = Object.entries(p.base ?? {});
  const keys = base.map(([k]) => k);
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Edit>({ t: 'keep' }) },
    { weight: 1, arbitrary: fc.constant<Edit>({ t: 'drop' }) },
    { weight: 3, arbitrary: w.map((v): Edit => ({ t: 'set', v })) },
  );
  const extraKey = fc.oneof(fc.constantFrom(...EXTRA_KEYS, ...keys), fc.string({ maxLength: 20 }));
  const edited = fc
    .record({
      edits: fc.array(edit, { minLength: base.length, maxLength: base.length }),
      extra: fc.array(fc.tuple(extraKey, w), { maxLength: 3 }),
    })
    .map(({ edits, extra }) => {
      const entries: [string, string][] = [];
      base.forEach(([k, v], i) => {
        const e = edits[i] ?? { t: 'keep' };
        if (e.t === 'keep') entries.push([k, JSON.stringify(v)]);
        else if (e.t === 'set') entries.push([k, e.v]);
      });
      entries.push(...extra);
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
    });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: w },
    { weight: 6, arbitrary: edited },
  );
}

/** Whether the server should accept the input. A mutation without a body is not JSON: refused. */
function parsesAs(p: Proc, text: string | undefined): boolean {
  if (text === undefined && p.kind === 'mutation') return false;
  return p.schema.safeParse(text === undefined ? undefined : JSON.parse(text)).success;
}

/** A cookie header that is not a genuine session: garbage, tampered signatures, stray dots. */
const forgedCookie: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      printable.filter((s) => !/[;,\s"\\]/.test(s)),
      fc.constantFrom('', '.', '..', 'u_x.', '.sig', 'u_abcdefgh.AAAA', '%', '%E0%A4%A', '%00'),
      fc.constantFrom('shopper', 'admin').chain((who) =>
        fc.nat().map((i) => {
          // a genuine cookie with one character changed
          const v = cookieOf[who as 'shopper' | 'admin'].split('=').slice(1).join('=');
          if (v.length === 0) return 'x';
          const at = i % v.length;
          return v.slice(0, at) + (v[at] === 'A' ? 'B' : 'A') + v.slice(at + 1);
        }),
      ),
    ),
    fc.constantFrom('surge_sid', 'surge_admin', 'both'),
  )
  .map(([v, name]) => (name === 'both' ? `surge_sid=${v}; surge_admin=${v}` : `${name}=${v}`));

interface Caller {
  kind: ClientKind;
  cookie: string;
}

function callerFor(p: Proc): fc.Arbitrary<Caller> {
  return fc
    .constantFrom(...p.clients)
    .chain(
      (kind): fc.Arbitrary<Caller> =>
        kind === 'forged'
          ? forgedCookie.map((cookie) => ({ kind, cookie }))
          : fc.constant({ kind, cookie: kind === 'anon' ? '' : cookieOf[kind] }),
    );
}

async function call(p: Proc, caller: Caller, text: string | undefined): Promise<Reply> {
  const headers: Record<string, string> = caller.cookie ? { cookie: caller.cookie } : {};
  if (p.kind === 'query') {
    const q = text === undefined ? '' : `?input=${enc(text)}`;
    return send('GET', `/trpc/${p.path}${q}`, { headers });
  }
  return send('POST', `/trpc/${p.path}`, {
    body: text ?? '',
    headers: { ...headers, 'content-type': 'application/json' },
  });
}

// ---------------------------------------------------------------------------------------------

/** The sale `fuzz` that bad requests must leave untouched: its hot state. */
const fuzzState = async (ns: string) => {
  const s = await hotState(ns, 'fuzz');
  return { hot: s.hot, users: s.users, idem: s.idem, open: s.open, outbox: s.outbox };
};

/**
 * The file's server with the sales `fuzz` and `fuzz-live`, the callers' cookies, and what the
 * sale and the stream held before any bad request.
 */
const it = stackTest().extend('before', { scope: 'file', auto: true }, async ({ stack, server, admin }) => {
  baseUrl = server.url;
  await createSale(admin, { id: 'fuzz', totalStock: 50, perUserLimit: 2 });
  await createSale(admin, { id: 'fuzz-live', totalStock: 20, perUserLimit: 3 });
  const [shopper] = await shoppers(server.url, 1);
  if (!shopper) throw new Error('no shopper');
  cookieOf.shopper = headerOf(shopper);
  cookieOf.admin = headerOf(admin);
  return { state: await fuzzState(stack.ns), messages: (await streamMessages(stack.ns)).length };
});

describe('bad input never gets a 5xx and never reserves (SPEC §5)', () => {
  it('SPEC §5: the properties call every query and mutation of the router', () => {
    const fuzzed = ROUTER.filter((p) => p.kind !== 'subscription').map((p) => p.path);
    expect(
      PROCS.map((p) => p.path),
      'a procedure without an entry in CALLS',
    ).toEqual(fuzzed);
    expect(Object.keys(CALLS).sort(), 'an entry in CALLS for no procedure').toEqual([...fuzzed].sort());
  });

  // 1 ------------------------------------------------------------------------------------------
  it.each(PROCS.map((p) => [p.path, p] as const))(
    'SPEC §5: %s answers malformed input (with and without a session / admin cookie) with a named 4xx whose status is ERROR_STATUS[reason], never a 5xx',
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

  // 2 ------------------------------------------------------------------------------------------
  it('SPEC §5: raw bodies to POST /trpc/order.place (arbitrary text, invalid JSON, binary, empty) answer 400 VALIDATION or another named 4xx', async () => {
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
          headers: { cookie: cookieOf.shopper, 'content-type': 'application/json' },
        });
        const reason = expectNamed4xx(r, `order.place body ${JSON.stringify(text.slice(0, 200))}`);
        expect(reason).toBe('VALIDATION');
      }),
      { numRuns: 150 },
    );
  });

  // 3 ------------------------------------------------------------------------------------------
  const validBody = (p: Proc) => (p.base === undefined ? '' : JSON.stringify(p.base));
  /** Mutations whose valid input is harmless or guarded, as whom to send them. */
  const MUTATION_CALLS: { p: Proc; cookie: () => string }[] = MUTATIONS.filter(
    (p) => p.path !== 'admin.logout',
  ).map((p) => ({ p, cookie: () => (p.auth === 'admin' ? cookieOf.admin : cookieOf.shopper) }));

  it('SPEC §5: a mutation without Content-Type application/json (random, text/plain, multipart, form, missing) answers 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const contentType = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        'text/plain',
        'text/plain;charset=UTF-8',
        'multipart/form-data',
        'multipart/form-data; boundary=----x',
        'application/x-www-form-urlencoded',
        'application/octet-stream',
        'application/jsonp',
        'application/json-patch+json',
        'application/ld+json',
        'application/vnd.api+json',
        'text/json',
        'application/ json',
        'application/json,text/plain',
        'json',
        '*/*',
        '',
      ),
      printable,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MUTATION_CALLS), contentType, async ({ p, cookie }, ct) => {
        fc.pre(ct === undefined || ct.split(';')[0]?.trim().toLowerCase() !== 'application/json');
        const headers: Record<string, string> = { cookie: cookie() };
        if (ct !== undefined) headers['content-type'] = ct;
        const r = await send('POST', `/trpc/${p.path}`, { body: validBody(p), headers });
        const where = `${p.path} content-type ${JSON.stringify(ct)}`;
        expect(expectNamed4xx(r, where), `${where} → ${show(r)}`).toBe('UNSUPPORTED_MEDIA_TYPE');
      }),
      { numRuns: 150 },
    );
  });

  it('SPEC §5: a mutation from an Origin not in ALLOWED_ORIGINS (foreign URLs, "null", junk) answers 403 FORBIDDEN_ORIGIN', async () => {
    const allowed = new Set(
      [0, 5173].flatMap((port) => [`http://localhost:${port}`, `http://127.0.0.1:${port}`]),
    );
    const origin = fc.oneof(
      fc.webUrl(),
      fc.webUrl().map((u) => new URL(u).origin),
      fc.constantFrom(
        'null',
        '',
        'http://localhost',
        'http://localhost:3000',
        'https://localhost:0',
        'http://LOCALHOST:0',
        'http://localhost:0/',
        'http://localhost:0.evil.com',
        'http://127.0.0.1:5173.evil.com',
        'http://evil.com',
        'file://',
        'chrome-extension://abcdef',
      ),
      printable,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MUTATION_CALLS), origin, async ({ p, cookie }, o) => {
        fc.pre(!allowed.has(o.trim()));
        const r = await send('POST', `/trpc/${p.path}`, {
          body: validBody(p),
          headers: { cookie: cookie(), 'content-type': 'application/json', origin: o },
        });
        const where = `${p.path} origin ${JSON.stringify(o)}`;
        expect(expectNamed4xx(r, where), `${where} → ${show(r)}`).toBe('FORBIDDEN_ORIGIN');
      }),
      { numRuns: 150 },
    );
  });

  it('SPEC §5: a mutation body over 64 KiB (with Content-Length or chunked) answers 413 PAYLOAD_TOO_LARGE', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MUTATION_CALLS),
        fc.integer({ min: MAX_BODY + 1, max: 4 * MAX_BODY }),
        fc.boolean(),
        async ({ p, cookie }, size, chunked) => {
          const start = validBody(p).replace(/}$/, '') || '{';
          const text = `${start}${start === '{' ? '' : ','}"pad":"${'x'.repeat(size)}"}`;
          const bytes = Buffer.from(text);
          // a stream has no Content-Length: undici sends it chunked, and tRPC's own cap must answer
          const body = chunked
            ? Readable.from(
                Array.from({ length: Math.ceil(bytes.length / 16_384) }, (_, i) =>
                  bytes.subarray(i * 16_384, (i + 1) * 16_384),
                ),
              )
            : bytes;
          const r = await send('POST', `/trpc/${p.path}`, {
            body,
            headers: { cookie: cookie(), 'content-type': 'application/json' },
          });
          const where = `${p.path} ${bytes.length} bytes ${chunked ? 'chunked' : 'with length'}`;
          expect(expectNamed4xx(r, where), `${where} → ${show(r)}`).toBe('PAYLOAD_TOO_LARGE');
        },
      ),
      { numRuns: 30 },
    );
  });

  // 4 ------------------------------------------------------------------------------------------
  /** Raw query strings: `input=` values that are not JSON, huge, arrays, repeated, badly encoded. */
  const rawQuery = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }).map((s) => `input=${enc(s)}`),
    printable.map((s) => `input=${enc(s)}`),
    weirdJson(2500).map((s) => `input=${enc(s)}`),
    fc.integer({ min: 1000, max: 4000 }).map((n) => `input=${'a'.repeat(n)}`),
    fc.constantFrom(
      'input=',
      'input',
      'input=%',
      'input=%E0%A4%A',
      'input=%FF%FE',
      'input=%7B',
      'input={',
      'input=undefined',
      'input=NaN',
      'input=[1,2]',
      'input[]=1',
      'input[saleId]=fuzz',
      'input.saleId=fuzz',
      'input=1&input=2',
      'input=%7B%7D&input=%5B%5D',
      'input=%7B%22saleId%22%3A%22fuzz%22%7D&input=x',
      'input=%22fuzz%22',
      'input=%7B%22__proto__%22%3A%7B%7D%7D',
      'INPUT=%7B%7D',
      'batch=0',
      'batch=1',
      'batch=1&input=%5B%5D',
      'batch=1&input=%7B%220%22%3A1%7D',
      'batch=1&input=null',
      'connectionParams=1',
      'connectionParams=%7B%7D',
      '&&&',
    ),
  );

  it('SPEC §5: random ?input= query strings on GET queries answer a named 4xx (200 only for a schema-valid input), never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...QUERIES),
        fc.constantFrom<ClientKind>('shopper', 'anon'),
        rawQuery,
        async (p, kind, q) => {
          const path = `/trpc/${p.path}?${q}`;
          fc.pre(path.length < MAX_URL);
          const r = await send('GET', path, {
            headers: kind === 'shopper' ? { cookie: cookieOf.shopper } : {},
          });
          // 200 only for an input the schema accepts (tRPC reads the first `input`; '' is none),
          // for sale.list (no input), or for a batch-shaped request
          const params = new URL(`http://x${path}`).searchParams;
          const raw = params.get('input');
          let accepted = p.path === 'sale.list' || params.has('batch');
          try {
            accepted ||= p.schema.safeParse(raw ? JSON.parse(raw) : undefined).success;
          } catch {
            // not JSON: refused
          }
          expectNamed4xx(r, `GET ${path.slice(0, 300)} as ${kind}`, accepted);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('SPEC §5: GET on a mutation answers 405 METHOD_NOT_ALLOWED, whatever the query string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MUTATIONS), fc.option(rawQuery), async (p, q) => {
        const path = `/trpc/${p.path}${q === null ? '' : `?${q}`}`;
        // batch and connectionParams parse errors are earlier, named refusals (VALIDATION)
        fc.pre(path.length < MAX_URL && !q?.includes('batch') && !q?.includes('connectionParams'));
        const r = await send('GET', path, { headers: { cookie: `${cookieOf.shopper}; ${cookieOf.admin}` } });
        expect(expectNamed4xx(r, `GET ${path.slice(0, 300)}`), show(r)).toBe('METHOD_NOT_ALLOWED');
      }),
      { numRuns: 100 },
    );
  });

  it('SPEC §5: an unknown procedure path (random, prototype names, near misses) answers 404 PROCEDURE_NOT_FOUND on GET and POST', async () => {
    const name = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
      fc.stringMatching(/^[a-zA-Z_$.]{1,40}$/),
      fc.constantFrom(
        '__proto__',
        'constructor',
        'prototype',
        'toString',
        'hasOwnProperty',
        'valueOf',
        'then',
        'call',
        'apply',
        'sale',
        'admin',
        'order',
        'sale.',
        '.sale.get',
        'sale..get',
        'sale.get.',
        'Sale.get',
        'SALE.GET',
        'sale.__proto__',
        'sale.constructor',
        'admin.__proto__',
        'sale.get.constructor',
        'order.place.then',
        '_def',
        'admin.dlq',
        'createCaller',
        'sale/get',
        'sale%2Eget',
        ' sale.get',
      ),
      fc
        .constantFrom(...PROCS.map((p) => p.path))
        .chain((p) => fc.constantFrom(`${p}x`, `${p}.`, `x${p}`, p.toUpperCase(), `${p}.__proto__`, `${p}/`)),
    );
    await fc.assert(
      fc.asyncProperty(name, fc.constantFrom<'GET' | 'POST'>('GET', 'POST'), async (n, method) => {
        fc.pre(!KNOWN_PATHS.has(n) && n !== '.' && n !== '..');
        const encoded = /^[A-Za-z0-9_.$-]+$/.test(n) ? n : enc(n);
        fc.pre(encoded !== '.' && encoded !== '..');
        const r =
          method === 'GET'
            ? await send('GET', `/trpc/${encoded}?input=%7B%7D`)
            : await send('POST', `/trpc/${encoded}`, {
                body: '{}',
                headers: { 'content-type': 'application/json', cookie: cookieOf.admin },
              });
        const where = `${method} /trpc/${encoded}`;
        expect(expectNamed4xx(r, where), `${where} → ${show(r)}`).toBe('PROCEDURE_NOT_FOUND');
      }),
      { numRuns: 150 },
    );
  });

  // 5 ------------------------------------------------------------------------------------------
  it('SPEC §5: a batch of 11 or more calls answers 400 BATCH_TOO_LARGE on GET and POST', async () => {
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

  it('SPEC §5: a batch of 11 or more calls whose commas are percent-encoded (%2C, which tRPC decodes) also answers 400 BATCH_TOO_LARGE', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...QUERIES.map((p) => p.path)), { minLength: 11, maxLength: 30 }),
        fc.array(fc.constantFrom(',', '%2C', '%2c'), { minLength: 10, maxLength: 29 }),
        async (names, seps) => {
          fc.pre(seps.slice(0, names.length - 1).some((x) => x !== ','));
          const joined = names.map((n, i) => (i === 0 ? n : `${seps[i - 1] ?? ','}${n}`)).join('');
          const r = await send('GET', `/trpc/${joined}?batch=1`, { headers: { cookie: cookieOf.shopper } });
          const where = `GET /trpc/${joined}?batch=1 (${names.length} calls)`;
          expect(expectNamed4xx(r, where), `${where} → ${show(r)}`).toBe('BATCH_TOO_LARGE');
        },
      ),
      { numRuns: 30 },
    );
  });

  it('SPEC §5: valid batches of 1..10 calls work: GET queries and POST session.start answer 200, one result per call', async () => {
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
              headers: { 'content-type': 'application/json', cookie: cookieOf.shopper },
            });
          } else {
            const input = Object.fromEntries(
              calls.flatMap((c, i) => (c.input ? [[String(i), c.input]] : [])),
            );
            r = await send(
              'GET',
              `/trpc/${names}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`,
              {
                headers: { cookie: cookieOf.shopper },
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

  it('SPEC §5: batches of up to 10 malformed query calls answer each call with a named reason, never a 5xx', async () => {
    const item = fc.constantFrom(...QUERIES).chain((p) => inputText(p, 300).map((text) => ({ p, text })));
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 10 }), async (items) => {
        const input = `{${items
          .flatMap(({ text }, i) => (text === undefined ? [] : [`"${i}":${text}`]))
          .join(',')}}`;
        const path = `/trpc/${items.map((x) => x.p.path).join(',')}?batch=1&input=${encodeURIComponent(input)}`;
        fc.pre(path.length < MAX_URL);
        const r = await send('GET', path, { headers: { cookie: cookieOf.shopper } });
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

  it('SPEC §5: POST batches of up to 10 malformed mutation calls (and non-object batch inputs) answer each call with a named reason, never a 5xx', async () => {
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
        const cookie = whole === null ? `${cookieOf.shopper}; ${cookieOf.admin}` : cookieOf.shopper;
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

  it('SPEC §5: a query string over the 16 KiB header limit gets a 4xx (Node answers 431), never a 5xx, and the server keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...QUERIES, ...MUTATIONS),
        fc.integer({ min: 17 * 1024, max: 64 * 1024 }),
        async (p, n) => {
          const path = `/trpc/${p.path}?input=${'a'.repeat(n)}`;
          const r = await send(p.kind === 'query' ? 'GET' : 'POST', path, {
            ...(p.kind === 'query' ? {} : { body: '{}' }),
            headers: { 'content-type': 'application/json' },
          });
          expect(r.status, `${p.path} with a ${n}-byte query → ${show(r)}`).toBeGreaterThanOrEqual(400);
          expect(r.status, `${p.path} with a ${n}-byte query → ${show(r)}`).toBeLessThan(500);
        },
      ),
      { numRuns: 10 },
    );
    expect((await send('GET', '/healthz')).status).toBe(200);
  });

  it('SPEC §5: other HTTP methods (PUT, PATCH, DELETE, OPTIONS) on mutations, with any content type or Origin, answer a named 4xx (405/415), never a 5xx', async () => {
    const ct = fc.option(
      fc.constantFrom(
        'application/json',
        'text/plain',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
      ),
    );
    const origin = fc.option(fc.constantFrom('https://evil.example', 'null'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MUTATION_CALLS),
        fc.constantFrom<'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'>('PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        ct,
        origin,
        async ({ p, cookie }, method, type, o) => {
          const headers: Record<string, string> = { cookie: cookie() };
          if (type !== null) headers['content-type'] = type;
          if (o !== null) headers.origin = o;
          const r = await send(method, `/trpc/${p.path}`, { body: validBody(p), headers });
          const where = `${method} ${p.path} ${JSON.stringify(headers)}`;
          expect(['METHOD_NOT_ALLOWED', 'UNSUPPORTED_MEDIA_TYPE', 'FORBIDDEN_ORIGIN']).toContain(
            expectNamed4xx(r, `${where}`),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  /** The admin cookie still authorizes: no bad request revoked it (an unknown sale is the answer). */
  const expectAdminSession = async () => {
    const r = await send('POST', '/trpc/admin.pauseSale', {
      body: '{"saleId":"no-such-sale"}',
      headers: { 'content-type': 'application/json', cookie: cookieOf.admin },
    });
    expect(r.json?.error?.data?.reason, show(r)).toBe('SALE_NOT_FOUND');
  };

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
          headers: { 'content-type': 'application/json', cookie: cookieOf.admin },
        });
        expectNamed4xx(r, `admin.createSale ${JSON.stringify(body)}`, true);
      }),
      { numRuns: 60 },
    );
  };

  it('SPEC §5: admin.createSale with schema-valid random names (any unicode, NUL, lone surrogates, 120 units) answers 200 or a named 4xx, never a 5xx', async () => {
    const name = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
      fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\u202e', '😀'.repeat(60), `${' '.repeat(100)}x`),
    );
    await createSaleNeverFails(fc.record({ name }));
  });

  it('SPEC §5: admin.createSale with schema-valid random dates (years 0000 to 9999, endsAt given or defaulted) answers 200 or a named 4xx, never a 5xx', async () => {
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

  it('SPEC §5: admin.createSale with schema-valid far-future dates (startsAt up to 9999-12-31, endsAt defaulted to +24 h or given) answers 200 or a named 4xx, never a 5xx', async () => {
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

  // 7 ------------------------------------------------------------------------------------------
  it('SPEC §5: after all the bad requests nothing was reserved or published, and /healthz and /readyz answer 200', async ({
    stack,
    before,
  }) => {
    expect(await fuzzState(stack.ns)).toEqual(before.state);
    await expectAdminSession();
    expect(before.state.hot.remaining).toBe('50');
    expect(await streamMessages(stack.ns)).toHaveLength(before.messages);
    expect((await send('GET', '/healthz')).status).toBe(200);
    const ready = await send('GET', '/readyz');
    expect(ready.status, show(ready)).toBe(200);
    const sale = await send('GET', `/trpc/sale.get?input=${encodeURIComponent('{"saleId":"fuzz"}')}`);
    expect(sale.json?.result?.data).toMatchObject({ remaining: 50, totalStock: 50, perUserLimit: 2 });
  });

  // 6 (last: it reserves, on other sales) -----------------------------------------------------
  it('SPEC §5: well-formed order.place calls with random sale ids, keys and quantities get one of the named answers with its status', async ({
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
