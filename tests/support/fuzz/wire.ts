import type { Readable } from 'node:stream';
import { ERROR_STATUS, type ErrorReason, isErrorReason } from '@surge/contracts';
import { request } from 'undici';
import { expect } from 'vitest';
import { agent } from '../client.ts';

/**
 * The wire of the bad-input files (tests/integration/bad-input-*.test.ts): raw requests to the
 * file's server, and the judgement every answer gets — a named reason whose HTTP status is
 * ERROR_STATUS[reason], never a 5xx.
 */

export const MAX_BODY = 64 * 1024;
/** Node's default header limit is 16 KiB: query strings stay well below it. */
export const MAX_URL = 12_000;

/**
 * The file's server and the cookie headers of its genuine callers, set by the file's fixture
 * (tests/support/fuzz/setup.ts) before its first test. Each test file has its own copy of
 * this module, so two files never share it.
 */
export const target = { url: '', cookie: { shopper: '', admin: '' } };

export interface Reply {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a parsed answer of unknown shape
  json: any;
}

export async function send(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS',
  path: string,
  opts: { body?: string | Uint8Array | Readable; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await request(`${target.url}${path}`, {
    method,
    dispatcher: agent,
    headers: opts.headers,
    body: opts.body,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, text, json };
}

/** encodeURIComponent that does not throw on lone surrogates (they become U+FFFD). */
export function enc(s: string): string {
  return encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));
}

export function show(r: Reply): string {
  return `${r.status} ${r.text.slice(0, 300)}`;
}

/**
 * The refusal's reason; asserts it is named and that the HTTP status is ERROR_STATUS[reason]. A
 * batch-shaped answer (`?batch=1`) is judged by its single item.
 */
export function namedReason(r: Reply, where: string): ErrorReason {
  const answer = Array.isArray(r.json) && r.json.length === 1 ? r.json[0] : r.json;
  const data = answer?.error?.data;
  const reason = data?.reason;
  if (!isErrorReason(reason)) throw new Error(`${where}: no named reason in ${show(r)}`);
  if (r.status !== ERROR_STATUS[reason] || data.httpStatus !== r.status)
    throw new Error(
      `${where}: ${reason} answered with HTTP ${r.status} (data.httpStatus ${data.httpStatus})`,
    );
  return reason;
}

/** A 4xx with a named reason (never a 5xx), or 200 when `okAllowed`. */
export function expectNamed4xx(r: Reply, where: string, okAllowed = false): ErrorReason | 'OK' {
  if (r.status >= 500) throw new Error(`${where}: 5xx ${show(r)}`);
  if (r.status === 200) {
    if (!okAllowed) throw new Error(`${where}: unexpected 200 ${show(r)}`);
    return 'OK';
  }
  const reason = namedReason(r, where);
  expect(r.status, where).toBeGreaterThanOrEqual(400);
  expect(r.status, where).toBeLessThan(500);
  return reason;
}
