import { createHmac, timingSafeEqual } from 'node:crypto';

const EXPIRY = /^[0-9]{1,15}$/;

/**
 * docs/architecture.md#the-waiting-room admission tokens: `<saleId>.<userId>.<expires ms>.<HMAC-SHA256, base64url>`, signed
 * with a key derived from SESSION_SECRET for this one purpose (a session cookie's signature
 * never passes for a token, nor the reverse). Any server verifies one without a Redis round
 * trip; the token is bound to (sale, user), and its expiry is the ticket's `tokenExpiresAt`.
 * Sale ids (`[a-z0-9-]`) and user ids (`[A-Za-z0-9_-]`) hold no dot, so the parts are unambiguous.
 */
export class AdmissionTokens {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('surge admission token v1').digest();
  }

  sign(saleId: string, userId: string, expiresMs: number): string {
    const payload = `${saleId}.${userId}.${expiresMs}`;
    return `${payload}.${this.mac(payload)}`;
  }

  /**
   * The expiry (ms) of a genuine token for this sale and user, or null when it is missing,
   * forged, or bound to another sale or user. Whether it has expired is judged later, by Redis
   * time, after the idempotency step (docs/architecture.md#error-reasons), so a retry of an existing order still replays.
   */
  verify(token: string | undefined, saleId: string, userId: string): number | null {
    if (!token) return null;
    const parts = token.split('.');
    if (parts.length !== 4) return null;
    const [sale, user, expires, given] = parts as [string, string, string, string];
    if (sale !== saleId || user !== userId || !EXPIRY.test(expires)) return null;
    const expected = Buffer.from(this.mac(`${sale}.${user}.${expires}`));
    const actual = Buffer.from(given);
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null;
    return Number(expires);
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
