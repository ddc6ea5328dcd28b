import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { formatError } from './error-formatter.ts';

/** An unexpected error that names an unreachable store is a 503 to retry, never a 500. */
describe('formatError: unreachable stores', () => {
  const format = (cause: Error) =>
    formatError(
      {
        shape: {
          message: cause.message,
          code: -32603,
          data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 },
        },
        error: new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause }),
      },
      true,
    ).data;

  it('PostgreSQL unreachable: SERVICE_UNAVAILABLE; Redis connection lost: STORE_UNAVAILABLE', () => {
    expect(format(new Error("Can't reach database server at 127.0.0.1:5432"))).toMatchObject({
      reason: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      retryAfterMs: 1000,
    });
    expect(format(new Error('Connection is closed.'))).toMatchObject({
      reason: 'STORE_UNAVAILABLE',
      httpStatus: 503,
      retryAfterMs: 1000,
    });
    expect(format(new Error('something else broke'))).toMatchObject({ reason: 'INTERNAL', httpStatus: 500 });
  });
});
