import { ERROR_STATUS, type ErrorData, type ErrorReason } from '@surge/contracts/errors';
import { isDatabaseUnavailable } from '@surge/db/errors';
import { isRedisUnavailable } from '@surge/infra';
import type { TRPCError } from '@trpc/server';
import type { DefaultErrorShape } from '@trpc/server/unstable-core-do-not-import';
import { z } from 'zod';
import { AppError } from '../errors.ts';

/** tRPC's own failures, named in Surge's vocabulary. */
const BY_TRPC_CODE: Partial<Record<TRPCError['code'], ErrorReason>> = {
  PARSE_ERROR: 'VALIDATION',
  BAD_REQUEST: 'VALIDATION',
  NOT_FOUND: 'PROCEDURE_NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

/**
 * The one place an error becomes an answer (docs/architecture.md#error-reasons):
 * `error.data.reason` always, plus `fieldErrors` for validation and `retryAfterMs` for 429/503.
 * Outside development an unexpected error says only "Internal error" (no stack, no message from a
 * library).
 */
export function formatError(
  { shape, error }: { shape: DefaultErrorShape; error: TRPCError },
  production: boolean,
): Omit<DefaultErrorShape, 'data'> & { data: ErrorData } {
  const cause = error.cause;
  let reason: ErrorReason;
  const data: ErrorData = { ...shape.data, reason: 'INTERNAL' };
  if (cause instanceof AppError) {
    reason = cause.reason;
    Object.assign(data, cause.extra);
  } else if (cause instanceof z.ZodError) {
    reason = 'VALIDATION';
    data.fieldErrors = fieldErrors(cause);
  } else if (isRedisUnavailable(cause)) {
    // Redis lost mid-call where no service named it (the long fault run: admin.flushCache 30 ms
    // into a Redis kill -9): the store is unreachable, a 503 to retry. Checked first: ioredis's
    // "Connection is closed." would also read as PostgreSQL's.
    reason = 'STORE_UNAVAILABLE';
    data.retryAfterMs = 1000;
  } else if (isDatabaseUnavailable(cause)) {
    // PostgreSQL down (an admin write, a query of orders): a named 503 to retry, not a 500
    // — the fault run found admin.restock answering INTERNAL through a PostgreSQL restart.
    reason = 'SERVICE_UNAVAILABLE';
    data.retryAfterMs = 1000;
  } else {
    reason = BY_TRPC_CODE[error.code] ?? 'INTERNAL';
  }
  data.reason = reason;
  data.httpStatus = ERROR_STATUS[reason] ?? shape.data.httpStatus;
  let message = reason === 'INTERNAL' && production ? 'Internal error' : shape.message;
  if (data.fieldErrors) {
    message = `Invalid input: ${Object.entries(data.fieldErrors)
      .map(([f, m]) => `${f}: ${m.join(', ')}`)
      .join('; ')}`;
  }
  if (production) delete (data as { stack?: string }).stack;
  return { ...shape, message, data };
}

function fieldErrors(err: z.ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of err.issues) {
    const field =
      issue.path.length > 0 ? issue.path.join('.') : issue.code === 'unrecognized_keys' ? 'keys' : 'input';
    const msg =
      issue.code === 'unrecognized_keys' ? `unknown key(s): ${issue.keys.join(', ')}` : issue.message;
    out[field] = [...(out[field] ?? []), msg];
  }
  return out;
}
