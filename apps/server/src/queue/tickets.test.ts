import type { RoomSnapshot } from '@surge/hot-state';
import { describe, expect, it } from 'vitest';
import { AdmissionTokens } from './admission-tokens.ts';
import { ticketOf, unqueuedTicket } from './tickets.ts';

const room = (o: Partial<RoomSnapshot> = {}): RoomSnapshot => ({
  nowMs: 10_000,
  cursor: 4,
  lineLength: 10,
  remaining: 5,
  startsMs: 0,
  endsMs: 100_000,
  paused: false,
  admitPerSecond: 2,
  tokenTtlMs: 30_000,
  admittedLastSecond: 0,
  outstanding: 0,
  ticket: null,
  ...o,
});
const sign = (exp: number) => `token-${exp}`;

describe('tickets (docs/architecture.md#the-waiting-room)', () => {
  it('a waiting ticket: position from the cursor, people ahead, waiting count, eta at the rate', () => {
    expect(ticketOf('s', room(), { rank: 6, admittedAtMs: null }, sign)).toEqual({
      saleId: 's',
      state: 'waiting',
      position: 3,
      ahead: 2,
      waiting: 6,
      etaMs: 1500,
      admissionToken: null,
      tokenExpiresAt: null,
    });
  });

  it('before the start the eta adds the time to the start; paused or rate 0 gives no eta', () => {
    expect(ticketOf('s', room({ startsMs: 20_000 }), { rank: 4, admittedAtMs: null }, sign).etaMs).toBe(
      10_500,
    );
    expect(ticketOf('s', room({ paused: true }), { rank: 4, admittedAtMs: null }, sign).etaMs).toBeNull();
    expect(
      ticketOf('s', room({ admitPerSecond: 0 }), { rank: 4, admittedAtMs: null }, sign).etaMs,
    ).toBeNull();
  });

  it('sold out turns waiting tickets soldout but leaves admitted ones admitted', () => {
    const r = room({ remaining: 0 });
    expect(ticketOf('s', r, { rank: 6, admittedAtMs: null }, sign)).toMatchObject({
      state: 'soldout',
      position: 3,
    });
    expect(ticketOf('s', r, { rank: 1, admittedAtMs: 9_000 }, sign)).toMatchObject({ state: 'admitted' });
  });

  it('admitted carries the signed token until admission + ttl, then expired; ended after the end', () => {
    const t = ticketOf('s', room(), { rank: 1, admittedAtMs: 9_000 }, sign);
    expect(t).toMatchObject({ state: 'admitted', position: 0, ahead: 0, admissionToken: 'token-39000' });
    expect(t.tokenExpiresAt).toBe(new Date(39_000).toISOString());
    const late = room({ nowMs: 39_000 });
    expect(ticketOf('s', late, { rank: 1, admittedAtMs: 9_000 }, sign)).toMatchObject({
      state: 'expired',
      admissionToken: null,
    });
    const over = room({ nowMs: 100_000 });
    expect(ticketOf('s', over, { rank: 6, admittedAtMs: null }, sign).state).toBe('ended');
  });

  it('an unqueued sale admits everyone without a token', () => {
    expect(unqueuedTicket('s')).toMatchObject({ state: 'admitted', admissionToken: null, position: 0 });
  });
});

describe('admission tokens (docs/architecture.md#the-waiting-room)', () => {
  const tokens = new AdmissionTokens('a-session-secret-of-at-least-32-chars');
  const token = tokens.sign('shoes', 'u_abcdefgh', 123_456);

  it('verify gives the expiry of a genuine token for its own sale and user', () => {
    expect(tokens.verify(token, 'shoes', 'u_abcdefgh')).toBe(123_456);
  });

  it('refuses a missing, forged, foreign or differently keyed token', () => {
    expect(tokens.verify(undefined, 'shoes', 'u_abcdefgh')).toBeNull();
    expect(tokens.verify('x', 'shoes', 'u_abcdefgh')).toBeNull();
    expect(tokens.verify(token, 'boots', 'u_abcdefgh')).toBeNull();
    expect(tokens.verify(token, 'shoes', 'u_someoneelse')).toBeNull();
    expect(tokens.verify(token.replace('123456', '999999'), 'shoes', 'u_abcdefgh')).toBeNull();
    expect(tokens.verify(`${token}.x`, 'shoes', 'u_abcdefgh')).toBeNull();
    const other = new AdmissionTokens('another-session-secret-of-32-chars!!');
    expect(other.verify(token, 'shoes', 'u_abcdefgh')).toBeNull();
  });
});
