import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GUEST_COOKIE } from './cookies.ts';
import { Sessions } from './sessions.ts';
import { sign } from './signed-cookie.ts';

const SECRET = 'unit-secret-unit-secret-unit-secret';
const sessions = () =>
  new Sessions({
    redis: {} as Redis, // guest sessions never reach Redis
    secret: SECRET,
    adminPassword: 'x',
    secure: false,
    adminKey: (id) => id,
  });
const req = (value: string) => ({ headers: { cookie: `${GUEST_COOKIE}=${value}` } }) as IncomingMessage;
const cookie = (userId: string, issuedS: number) => sign(`${userId}:${issuedS}`, `${SECRET}:guest`);
const nowS = () => Math.floor(Date.now() / 1000);

afterEach(() => {
  vi.useRealTimers();
});

describe('guest sessions: verified cookies remembered', () => {
  it('answers the same user for a cookie verified before, and still refuses a forged one', () => {
    const s = sessions();
    const good = cookie('u_aaaaaaaaaaaaaaaa', nowS());
    expect(s.guestUserId(req(good))).toBe('u_aaaaaaaaaaaaaaaa');
    expect(s.guestUserId(req(good))).toBe('u_aaaaaaaaaaaaaaaa');
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    expect(s.guestUserId(req(forged))).toBeNull();
    const otherUser = `u_bbbbbbbbbbbbbbbb:${nowS()}.${good.slice(good.lastIndexOf('.') + 1)}`;
    expect(s.guestUserId(req(otherUser))).toBeNull();
  });

  it('judges the age on every read: a remembered cookie expires all the same', () => {
    vi.useFakeTimers();
    const s = sessions();
    const good = cookie('u_cccccccccccccccc', nowS());
    expect(s.guestUserId(req(good))).toBe('u_cccccccccccccccc');
    vi.setSystemTime(Date.now() + 31 * 24 * 3600 * 1000);
    expect(s.guestUserId(req(good))).toBeNull();
  });

  it('keeps a bounded number of cookies (the least recently used go first) and verifies the rest again', () => {
    const s = sessions();
    const first = cookie('u_dddddddddddddddd', nowS());
    expect(s.guestUserId(req(first))).toBe('u_dddddddddddddddd');
    for (let i = 0; i < 50_001; i++) s.guestUserId(req(cookie(`u_${String(i).padStart(16, '0')}`, nowS())));
    const remembered = (s as unknown as { verified: Map<string, unknown> }).verified;
    expect(remembered.size).toBe(50_000);
    expect(remembered.has(first)).toBe(false);
    expect(s.guestUserId(req(first))).toBe('u_dddddddddddddddd');
  });
});
