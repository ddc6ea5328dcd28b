import type { Challenge } from 'altcha-lib';
import { describe, expect } from 'vitest';
import { reasonOf, TestClient } from '../support/client.ts';
import { stackTest } from '../support/fixtures.ts';
import { withRedis } from '../support/inspect.ts';
import { solvePow } from '../support/pow.ts';

/**
 * README.md#security / issue 10 H1: a new guest identity costs a proof of work (ALTCHA v2), each
 * solution is accepted once, and every per-IP limit counts an IPv6 caller by its /64.
 * A low difficulty keeps the file fast; the semantics are those of the defaults.
 */
const it = stackTest({ server: { POW_MAX_NUMBER: '50', POW_COST: '1000', POW_TTL_S: '300' } })
  .extend('shortLived', { scope: 'file' }, async ({ stack }) =>
    stack.server({ POW_MAX_NUMBER: '20', POW_COST: '100', POW_TTL_S: '1' }),
  )
  .extend('perIp', { scope: 'file' }, async ({ stack }) =>
    stack.server({ POW_MAX_NUMBER: '0', RATE_LIMIT_PER_IP: '3', TRUST_PROXY: 'true' }),
  );

const challengeOf = async (c: TestClient): Promise<Challenge> => {
  const r = await c.query<Challenge>('session.challenge');
  expect(r.status).toBe(200);
  return r.body.result?.data as Challenge;
};

describe('proof of work on new sessions (H1)', () => {
  it('session.challenge answers a signed PBKDF2/SHA-256 challenge that expires', async ({ server }) => {
    const c = await challengeOf(new TestClient(server.url));
    expect(c.parameters.algorithm).toBe('PBKDF2/SHA-256');
    expect(c.parameters.cost).toBe(1000);
    expect(c.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(c.parameters.keySignature).toMatch(/^[0-9a-f]{64}$/);
    const ttl = (c.parameters.expiresAt ?? 0) - Date.now() / 1000;
    expect(ttl).toBeGreaterThan(250);
    expect(ttl).toBeLessThanOrEqual(301);
  });

  it('no payload: 403 POW_REQUIRED and no cookie; a solved one: a session', async ({ server }) => {
    const bot = new TestClient(server.url);
    const r = await bot.mutate('session.start', {});
    expect(r.status).toBe(403);
    expect(reasonOf(r)).toBe('POW_REQUIRED');
    expect(r.headers['set-cookie']).toBeUndefined();

    const u = new TestClient(server.url);
    const userId = await u.startSession();
    expect(userId).toMatch(/^u_/);
    // With its valid cookie the same user comes back without any work.
    const again = await u.mutate<{ userId: string }>('session.start', {});
    expect(again.status).toBe(200);
    expect(again.body.result?.data.userId).toBe(userId);
  });

  it('each solution is accepted once: replaying it for a second identity is 403 POW_INVALID', async ({
    server,
    stack,
  }) => {
    const a = new TestClient(server.url);
    const pow = await solvePow(await challengeOf(a));
    expect((await a.mutate('session.start', { pow })).status).toBe(200);
    const b = new TestClient(server.url);
    const replay = await b.mutate('session.start', { pow });
    expect(replay.status).toBe(403);
    expect(reasonOf(replay)).toBe('POW_INVALID');
    // The used set is keyed by the challenge's signature and expires with the challenge.
    const { signature, parameters } = JSON.parse(Buffer.from(pow, 'base64').toString()).challenge;
    const ttl = await withRedis((r) => r.ttl(`${stack.ns}:pow:used:${signature}`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(Math.ceil(parameters.expiresAt - Date.now() / 1000) + 2);
  });

  it('wrong, forged, tampered or garbage payloads are 403 POW_INVALID (never a 5xx); bad characters 400', async ({
    server,
  }) => {
    const c = new TestClient(server.url);
    const challenge = await challengeOf(c);
    const good = JSON.parse(Buffer.from(await solvePow(challenge), 'base64').toString());
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');
    const wrongKey = { ...good, solution: { ...good.solution, derivedKey: '00'.repeat(32) } };
    const tampered = {
      ...good,
      challenge: { ...good.challenge, parameters: { ...good.challenge.parameters, cost: 1 } },
    };
    const unsigned = { ...good, challenge: { parameters: good.challenge.parameters } };
    const sha = {
      ...good,
      challenge: { ...good.challenge, parameters: { ...good.challenge.parameters, algorithm: 'SHA-256' } },
    };
    for (const pow of [
      enc(wrongKey),
      enc(tampered),
      enc(unsigned),
      enc(sha),
      enc({}),
      enc([1, 2]),
      enc('x'),
      'bm90IGpzb24=',
      'AAAA',
    ]) {
      const r = await new TestClient(server.url).mutate('session.start', { pow });
      expect(r.status, pow).toBe(403);
      expect(reasonOf(r)).toBe('POW_INVALID');
    }
    const bad = await new TestClient(server.url).mutate('session.start', { pow: 'not base64 !' });
    expect(bad.status).toBe(400);
    expect(reasonOf(bad)).toBe('VALIDATION');
    // The genuine solution still works after all that.
    expect((await new TestClient(server.url).mutate('session.start', { pow: enc(good) })).status).toBe(200);
  });

  it('an expired challenge is 403 POW_INVALID', async ({ shortLived }) => {
    const c = new TestClient(shortLived.url);
    const pow = await solvePow(await challengeOf(c));
    await new Promise((r) => setTimeout(r, 2100));
    const r = await c.mutate('session.start', { pow });
    expect(r.status).toBe(403);
    expect(reasonOf(r)).toBe('POW_INVALID');
  });

  it('a challenge of another install (other SESSION_SECRET) is refused', async ({ server, stack }) => {
    const other = await stack.server({
      POW_MAX_NUMBER: '20',
      POW_COST: '100',
      SESSION_SECRET: 'another-install-secret-0123456789abcdef',
    });
    const pow = await solvePow(await challengeOf(new TestClient(other.url)));
    const r = await new TestClient(server.url).mutate('session.start', { pow });
    expect(reasonOf(r)).toBe('POW_INVALID');
  });
});

describe('per-IP limits group IPv6 by /64 (H1)', () => {
  it('rotating addresses inside one /64 share session.start’s per-IP limit; another /64 does not', async ({
    perIp,
  }) => {
    const from = (ip: string) => new TestClient(perIp.url, { 'x-forwarded-for': ip });
    for (const ip of ['2001:db8:7:1::1', '2001:db8:7:1::2', '2001:db8:7:1:abcd::3'])
      expect((await from(ip).mutate('session.start', {})).status).toBe(200);
    const rotated = await from('2001:0db8:0007:0001:ffff:1:2:3').mutate('session.start', {});
    expect(rotated.status).toBe(429);
    expect(reasonOf(rotated)).toBe('RATE_LIMITED');
    expect((await from('2001:db8:7:2::1').mutate('session.start', {})).status).toBe(200);
  });
});
