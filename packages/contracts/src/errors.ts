/**
 * The one error vocabulary of Surge (docs/architecture.md#error-reasons). Every answer that is not
 * a success carries one of these reasons in `error.data.reason`; the HTTP status beside each is the
 * only place the mapping lives. The tRPC code is derived from the status (see
 * `TRPC_CODE_BY_STATUS`).
 *
 * This module imports nothing (no zod): the web app imports it as `@surge/contracts/errors`
 * without pulling the input schemas into the page bundle.
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

/**
 * What a person reads for each reason — a shopper on the page, an admin on the HUD, a
 * developer in `error.message`. The reason code itself is the contract; the server sends the
 * message unless an answer has something more specific to say.
 */
export const ERROR_MESSAGES: Record<ErrorReason, string> = {
  VALIDATION: 'Some input was not accepted.',
  BATCH_TOO_LARGE: 'Too many calls in one request.',
  NO_SESSION: 'Your session is missing or has expired; start a new one.',
  NOT_ADMIN: 'Admin login required.',
  BAD_CREDENTIALS: 'Wrong password.',
  FORBIDDEN_ORIGIN: 'Calls from this origin are not allowed.',
  SALE_NOT_FOUND: 'This sale does not exist.',
  ORDER_NOT_FOUND: 'Order not found.',
  PROCEDURE_NOT_FOUND: 'The server does not offer this action.',
  METHOD_NOT_ALLOWED: 'The server refused this kind of request.',
  IDEMPOTENCY_IN_FLIGHT: 'This purchase is still being settled; retry shortly.',
  SALE_ENDED: 'This sale has ended.',
  SALE_PAUSED: 'The sale is paused; try again when it resumes.',
  SALE_NOT_STARTED: 'The sale has not started yet.',
  USER_LIMIT: 'That would exceed your per-customer limit for this sale.',
  SOLD_OUT: 'Sold out — every unit is taken.',
  SALE_EXISTS: 'A sale with this id already exists.',
  PAYLOAD_TOO_LARGE: 'The request was too large.',
  UNSUPPORTED_MEDIA_TYPE: 'The request format was refused.',
  IDEMPOTENCY_MISMATCH: 'This purchase was already placed with a different quantity.',
  RATE_LIMITED: 'Too many requests; wait a moment before trying again.',
  INTERNAL: 'Something went wrong on our side.',
  QUEUE_UNAVAILABLE: 'Orders cannot be queued right now; nothing was reserved.',
  OUTCOME_UNKNOWN: 'Not known yet whether the order went through; a retry with the same key will tell.',
  SALE_REBUILDING: 'The sale is being restored; retry in a moment.',
  REBUILD_BLOCKED: 'The cache rebuild is blocked.',
  STORE_UNAVAILABLE: 'The stock store is unreachable right now; try again shortly.',
  SERVICE_UNAVAILABLE: 'The service is unavailable right now.',
};

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

/**
 * Why a message was dead-lettered (docs/architecture.md#dead-letters-and-replay), exactly as
 * `dead_letters.reason` stores it: the code first, then what a person needs to know. The worker
 * writes the first five; a refused `admin.dlq.replay` rewrites the reason of the letter it kept.
 */
export type DeadLetterReason =
  | 'UNPARSEABLE: not JSON'
  | `INVALID: ${string}`
  | 'SALE_NOT_FOUND: the message names no existing sale'
  | 'RECORD_MISMATCH: the message disagrees with its reservation'
  | `UNCLASSIFIED after ${number} failed attempts: ${string}`
  | `replay refused: ${string}`;
