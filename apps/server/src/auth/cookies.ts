import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseCookie, type SerializeOptions, stringifySetCookie } from 'cookie';

export const GUEST_COOKIE = 'surge_sid';
export const ADMIN_COOKIE = 'surge_admin';

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  return parseCookie(header)[name];
}

/** Appends a Set-Cookie header (several cookies may be set by one batched request). */
export function setCookie(res: ServerResponse, name: string, value: string, opts: SerializeOptions): void {
  const cookie = stringifySetCookie({ name, value, path: '/', httpOnly: true, ...opts });
  const prev = res.getHeader('Set-Cookie');
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
  res.setHeader('Set-Cookie', [...list, cookie]);
}
