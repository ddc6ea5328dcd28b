/**
 * The one error vocabulary of Surge (SPEC §5). Every answer that is not a success carries one
 * of these reasons in `error.data.reason`; the HTTP status beside each is the only place the
 * mapping lives. The tRPC code is derived from the status (see `TRPC_CODE_BY_STATUS`).
 */
export const ERROR_STATUS = {
  VALIDATION: 400,
  BATCH_TOO_LARGE: 400,
  NO_SESSION: 401,
  NOT_ADMIN: 401,
  BAD_CREDENTIALS: 401,
  FORBIDDEN_ORIGIN: 403,
  SALE_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  PROCEDURE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IDEMPOTENCY_IN_FLIGHT: 409,
  SALE_ENDED: 409,
  SALE_PAUSED: 409,
  SALE_NOT_STARTED: 409,
  USER_LIMIT: 409,
  SOLD_OUT: 409,
  SALE_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_MISMATCH: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  QUEUE_UNAVAILABLE: 503,
  OUTCOME_UNKNOWN: 503,
  SALE_REBUILDING: 503,
  REBUILD_BLOCKED: 503,
  STORE_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorReason = keyof typeof ERROR_STATUS;

export const ERROR_REASONS = Object.keys(ERROR_STATUS) as ErrorReason[];

/** tRPC error codes whose HTTP status (tRPC's own table) matches ours. */
export const TRPC_CODE_BY_STATUS = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
} as const;

export type TrpcErrorCode = (typeof TRPC_CODE_BY_STATUS)[keyof typeof TRPC_CODE_BY_STATUS];

export function trpcCodeOf(reason: ErrorReason): TrpcErrorCode {
  return TRPC_CODE_BY_STATUS[ERROR_STATUS[reason]];
}

/** `error.data` of every Surge error answer. */
export interface ErrorData {
  reason: ErrorReason;
  httpStatus: number;
  code: string;
  path?: string;
  fieldErrors?: Record<string, string[]>;
  retryAfterMs?: number;
  /** REBUILD_BLOCKED: what the rebuild waits for. */
  waitingFor?: string[];
}

export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}
