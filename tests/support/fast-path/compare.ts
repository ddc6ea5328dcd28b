import type { Raw } from './cases.ts';
import type { World } from './world.ts';

/**
 * How tests/integration/fast-path.test.ts compares the two servers' answers: status,
 * content-type, vary, Cache-Control, Strict-Transport-Security, body, X-Correlation-Id and Set-Cookie attributes, once what differs by
 * nature is replaced by placeholders.
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const GUEST = /(?<![\w-])u_[\w-]{16}(?![\w-])/g;
const TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;
/** Admission tokens carry their admission time and signature; a wait is counted from now. */
const TOKEN = /"admissionToken":"[^"]+"/g;
const ETA = /"etaMs":\d+/g;
const STACK = /"stack":"((?:[^"\\]|\\.)*)"/g;

/** The answer with what differs by nature between the two servers replaced by placeholders. */
export function normalise(r: Raw, w: World) {
  const clean = (s: string) =>
    s
      .replaceAll(w.p, '<p>-')
      .replace(UUID, '<uuid>')
      .replace(GUEST, '<user>')
      .replace(TIME, '<time>')
      .replace(TOKEN, '"admissionToken":"<token>"')
      .replace(ETA, '"etaMs":<ms>');
  const cookies = r.headers['set-cookie'];
  return {
    status: r.status,
    contentType: r.headers['content-type'],
    vary: r.headers.vary,
    cacheControl: r.headers['cache-control'],
    hsts: r.headers['strict-transport-security'],
    correlationId: clean(String(r.headers['x-correlation-id'])),
    setCookie: (Array.isArray(cookies) ? cookies : cookies ? [cookies] : []).map((c) =>
      c.replace(/^([^=]*)=([^;]*)/, (_m, name: string, value: string) => `${name}=${value ? '<value>' : ''}`),
    ),
    body: clean(r.text).replace(STACK, (_m, s: string) => `"stack":"${s.split('\\n')[0]}\\n<frames>"`),
  };
}

export function reasonOf(r: Raw): string | undefined {
  if (r.status >= 200 && r.status < 300) return 'ok';
  try {
    return (JSON.parse(r.text) as { error?: { data?: { reason?: string } } }).error?.data?.reason;
  } catch {
    return undefined;
  }
}
