import fc from 'fast-check';
import type { Caller, Proc } from './procedures.ts';
import { enc, target } from './wire.ts';

/**
 * What the bad-input properties send: malformed inputs for a procedure, forged cookies, raw
 * query strings. Inputs are generated as raw JSON texts, so that `__proto__` keys, duplicate
 * keys and number tokens that JSON.stringify never writes (1e400, -0, 100.0000000000000001)
 * reach the server as such.
 */

export const printable = fc.string({
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
export function weirdJson(huge: number): fc.Arbitrary<string> {
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
export function inputText(p: Proc, huge: number): fc.Arbitrary<string | undefined> {
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

/** A cookie header that is not a genuine session: garbage, tampered signatures, stray dots. */
export const forgedCookie: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      printable.filter((s) => !/[;,\s"\\]/.test(s)),
      fc.constantFrom('', '.', '..', 'u_x.', '.sig', 'u_abcdefgh.AAAA', '%', '%E0%A4%A', '%00'),
      fc.constantFrom('shopper', 'admin').chain((who) =>
        fc.nat().map((i) => {
          // a genuine cookie with one character changed
          const v = target.cookie[who as 'shopper' | 'admin'].split('=').slice(1).join('=');
          if (v.length === 0) return 'x';
          const at = i % v.length;
          return v.slice(0, at) + (v[at] === 'A' ? 'B' : 'A') + v.slice(at + 1);
        }),
      ),
    ),
    fc.constantFrom('surge_sid', 'surge_admin', 'both'),
  )
  .map(([v, name]) => (name === 'both' ? `surge_sid=${v}; surge_admin=${v}` : `${name}=${v}`));

export function callerFor(p: Proc): fc.Arbitrary<Caller> {
  return fc
    .constantFrom(...p.clients)
    .chain(
      (kind): fc.Arbitrary<Caller> =>
        kind === 'forged'
          ? forgedCookie.map((cookie) => ({ kind, cookie }))
          : fc.constant({ kind, cookie: kind === 'anon' ? '' : target.cookie[kind] }),
    );
}

/** Raw query strings: `input=` values that are not JSON, huge, arrays, repeated, badly encoded. */
export const rawQuery = fc.oneof(
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
