import { describe, expect } from 'vitest';
import { FOLLOWED_TRPC_VERSION, installedTrpcVersion } from '../../apps/server/src/http/fast-mutation.ts';
import { CASES } from '../support/fast-path/cases.ts';
import { normalise, reasonOf } from '../support/fast-path/compare.ts';
import { fastCount, startWorld } from '../support/fast-path/world.ts';
import { stackTest } from '../support/fixtures.ts';

/**
 * The fast path for single JSON mutations (apps/server/src/http/fast-mutation.ts) must answer
 * exactly what @trpc/server's own adapter answers. Two servers on one stack, one with
 * TRPC_FAST_PATH=true and one with false, get the same requests; their answers are compared
 * (status, content-type, vary, body, X-Correlation-Id, Set-Cookie attributes) once the values
 * that differ by nature are replaced by placeholders: each server's own sale ids and
 * idempotency keys (a prefix per server: the two share one database and Redis namespace),
 * UUIDs (order ids, generated correlation ids), guest user ids, timestamps, admission tokens and waits, cookie values, and
 * the stack frames of development error answers (the first line, the message, is kept). The
 * fast server's `surge_trpc_fast_path_total` shows which requests the fast path took.
 *
 * Known and accepted: the fast path sends `Content-Length`, the adapter `Transfer-Encoding:
 * chunked` (HTTP framing, not the answer); not compared.
 *
 * The cases, the comparison and the two servers' set-up are in tests/support/fast-path/.
 */

const MODES = [
  { mode: 'in-process servers, NODE_ENV=test (stack traces in errors)', production: false },
  { mode: 'built servers, NODE_ENV=production', production: true },
];

for (const { mode, production } of MODES) {
  // A stack per mode; its two servers (fast, official) are the file's, started before the first test.
  const it = stackTest({ server: false })
    .extend('fast', { scope: 'file', auto: true }, async ({ stack }) =>
      startWorld(stack, production, 'true', production ? 'fpc-' : 'fpa-'),
    )
    .extend('official', { scope: 'file', auto: true }, async ({ stack }) => {
      const official = await startWorld(stack, production, 'false', production ? 'fpd-' : 'fpb-');
      expect(await fastCount(official.url)).toBeNull();
      return official;
    });

  describe(`tRPC fast path vs the official adapter: ${mode}`, () => {
    it('has enough cases, over the @trpc/server version the fast path follows', () => {
      expect(CASES.length).toBeGreaterThanOrEqual(20);
      // After a tRPC upgrade the server keeps the fast path off until it is re-checked against
      // the new version's resolveResponse and FOLLOWED_TRPC_VERSION is moved (these cases pass).
      expect(installedTrpcVersion()).toBe(FOLLOWED_TRPC_VERSION);
    });

    for (const c of CASES) {
      it(`${c.fast ? 'fast' : 'adapter'}: ${c.name}`, async ({ fast, official }) => {
        const before = await fastCount(fast.url);
        const a = await c.run(fast);
        const after = await fastCount(fast.url);
        const b = await c.run(official);
        if (c.expect) expect(reasonOf(b), b.text).toBe(c.expect);
        expect(normalise(a, fast)).toEqual(normalise(b, official));
        expect((after ?? 0) - (before ?? 0), 'requests the fast path took').toBe(c.fast ? 1 : 0);
        if (production) expect(a.text).not.toMatch(/"stack"/);
        if (c.fast) {
          // The one known difference, HTTP framing: a length here, chunks from the adapter.
          expect(a.headers['content-length']).toBe(String(Buffer.byteLength(a.text)));
          expect(b.headers['transfer-encoding']).toBe('chunked');
        }
      });
    }
  });
}
