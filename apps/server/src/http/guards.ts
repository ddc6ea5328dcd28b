import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_STATUS, type ErrorReason, trpcCodeOf } from '@surge/contracts/errors';

export const MAX_BODY_BYTES = 64 * 1024;

export const MAX_BATCH = 10;

/** Sets a flat list of headers (name, value, name, value, …) on an answer not yet written. */
export function setHeaders(res: ServerResponse, list: readonly string[]): void {
  for (let i = 0; i < list.length; i += 2) res.setHeader(list[i] as string, list[i + 1] as string);
}

/**
 * Checks made before tRPC parses anything (docs/architecture.md#the-http-edge): a mutation needs a
 * JSON content type (tRPC would otherwise accept a cross-site form post) and an allowed or
 * absent Origin; bodies and batches are capped. Returns the reason to refuse, or null.
 */
export function refuseTrpcRequest(
  req: IncomingMessage,
  url: URL,
  allowedOrigins: Set<string>,
): { reason: ErrorReason; message: string } | null {
  // tRPC decodes the path before splitting it into calls: count the same way (%2C is a comma).
  let path = url.pathname.slice('/trpc/'.length);
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      // a malformed escape: tRPC answers it with its own 4xx
    }
  }
  // (`url.searchParams` is built on first use: not for the plain calls of the hot path.)
  if (url.search !== '' && url.searchParams.has('batch') && path.split(',').length > MAX_BATCH) {
    return { reason: 'BATCH_TOO_LARGE', message: `at most ${MAX_BATCH} calls per batch` };
  }
  if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      return { reason: 'UNSUPPORTED_MEDIA_TYPE', message: 'mutations take Content-Type: application/json' };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin)) {
      return { reason: 'FORBIDDEN_ORIGIN', message: 'this Origin may not call mutations' };
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_BODY_BYTES)
      return { reason: 'PAYLOAD_TOO_LARGE', message: `bodies are capped at ${MAX_BODY_BYTES} bytes` };
  }
  return null;
}

/** An error answer in tRPC's JSON shape, for refusals made outside tRPC. */
export function sendTrpcError(
  res: ServerResponse,
  reason: ErrorReason,
  message: string,
  path?: string,
): void {
  const httpStatus = ERROR_STATUS[reason];
  const body = JSON.stringify({
    error: {
      message,
      code: -32600,
      data: { code: trpcCodeOf(reason), httpStatus, reason, ...(path ? { path } : {}) },
    },
  });
  res.writeHead(httpStatus, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
