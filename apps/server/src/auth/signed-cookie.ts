import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * `value.signature` cookies (HMAC-SHA256 with SESSION_SECRET, base64url): a shopper cannot
 * forge another user's id, and every server with the same secret accepts every session.
 */
export function sign(value: string, secret: string): string {
  return `${value}.${mac(value, secret)}`;
}

export function unsign(signed: string | undefined, secret: string): string | null {
  if (!signed) return null;
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return null;
  const value = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  const expected = Buffer.from(mac(value, secret));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return value;
}

function mac(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64url');
}

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'surge-compare').update(a).digest();
  const hb = createHmac('sha256', 'surge-compare').update(b).digest();
  return timingSafeEqual(ha, hb);
}
