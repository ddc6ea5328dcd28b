import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { stackTest } from '../support/fixtures.ts';
import { printable, rawQuery } from '../support/fuzz/arbitraries.ts';
import {
  type ClientKind,
  KNOWN_PATHS,
  MUTATION_CALLS,
  MUTATIONS,
  PROCS,
  QUERIES,
  validBody,
} from '../support/fuzz/procedures.ts';
import { expectUntouched, fuzzSetup } from '../support/fuzz/setup.ts';
import { enc, expectNamed4xx, MAX_BODY, MAX_URL, send, show, target } from '../support/fuzz/wire.ts';

/**
 * docs/architecture.md#the-http-edge, property-based: what reaches the server around the input
 * — content types, Origins, oversized bodies, query strings, methods, procedure paths — gets
 * the guard's named 4xx (415, 403, 413, 405, 404, 431), never a 5xx; and bad requests reserve
 * and publish nothing. The fuzzing kit: tests/support/fuzz/.
 */

/** The file's server with the sales `fuzz` and `fuzz-live`, the callers' cookies, and the state before. */
const it = stackTest().extend('before', { scope: 'file', auto: true }, async ({ stack, server, admin }) =>
  fuzzSetup(stack, server, admin),
);

describe('bad input never gets a 5xx and never reserves: the HTTP edge', () => {
  it('a mutation without Content-Type application/json (random, text/plain, multipart, form, missing) answers 415 UNSUPPORTED_MEDIA_TYPE', async () => {
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

  it('a mutation from an Origin not in ALLOWED_ORIGINS (foreign URLs, "null", junk) answers 403 FORBIDDEN_ORIGIN', async () => {
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

  it('a mutation body over 64 KiB (with Content-Length or chunked) answers 413 PAYLOAD_TOO_LARGE', async () => {
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

  it('random ?input= query strings on GET queries answer a named 4xx (200 only for a schema-valid input), never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...QUERIES),
        fc.constantFrom<ClientKind>('shopper', 'anon'),
        rawQuery,
        async (p, kind, q) => {
          const path = `/trpc/${p.path}?${q}`;
          fc.pre(path.length < MAX_URL);
          const r = await send('GET', path, {
            headers: kind === 'shopper' ? { cookie: target.cookie.shopper } : {},
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

  it('GET on a mutation answers 405 METHOD_NOT_ALLOWED, whatever the query string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MUTATIONS), fc.option(rawQuery), async (p, q) => {
        const path = `/trpc/${p.path}${q === null ? '' : `?${q}`}`;
        // batch and connectionParams parse errors are earlier, named refusals (VALIDATION)
        fc.pre(path.length < MAX_URL && !q?.includes('batch') && !q?.includes('connectionParams'));
        const r = await send('GET', path, {
          headers: { cookie: `${target.cookie.shopper}; ${target.cookie.admin}` },
        });
        expect(expectNamed4xx(r, `GET ${path.slice(0, 300)}`), show(r)).toBe('METHOD_NOT_ALLOWED');
      }),
      { numRuns: 100 },
    );
  });

  it('an unknown procedure path (random, prototype names, near misses) answers 404 PROCEDURE_NOT_FOUND on GET and POST', async () => {
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
                headers: { 'content-type': 'application/json', cookie: target.cookie.admin },
              });
        const where = `${method} /trpc/${encoded}`;
        expect(expectNamed4xx(r, where), `${where} → ${show(r)}`).toBe('PROCEDURE_NOT_FOUND');
      }),
      { numRuns: 150 },
    );
  });

  it('a query string over the 16 KiB header limit gets a 4xx (Node answers 431), never a 5xx, and the server keeps answering', async () => {
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

  it('other HTTP methods (PUT, PATCH, DELETE, OPTIONS) on mutations, with any content type or Origin, answer a named 4xx (405/415), never a 5xx', async () => {
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

  it('after all the bad requests nothing was reserved or published, and /healthz and /readyz answer 200', async ({
    stack,
    before,
  }) => {
    await expectUntouched(stack, before);
  });
});
