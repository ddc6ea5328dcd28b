import type { ErrorReason } from '@surge/contracts';
import { TRPCClientError } from '@trpc/client';

/** A failure as the page sees it: the server's stable reason, or NETWORK when none came back. */
export interface Failure {
  reason: ErrorReason | 'NETWORK';
  message: string;
  retryAfterMs?: number;
  waitingFor?: string[];
  fieldErrors?: Record<string, string[]>;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
}

/** Reads `error.data.reason` (and its extras) from a TRPCClientError; anything else is NETWORK. */
export function failureOf(err: unknown): Failure {
  const data = err instanceof TRPCClientError ? record(err.data) : null;
  const reason = data && isReason(data.reason) ? data.reason : 'NETWORK';
  const failure: Failure = { reason, message: err instanceof Error ? err.message : String(err) };
  if (data && typeof data.retryAfterMs === 'number') failure.retryAfterMs = data.retryAfterMs;
  if (data && Array.isArray(data.waitingFor)) failure.waitingFor = data.waitingFor.map(String);
  const fields = record(data?.fieldErrors);
  if (fields) {
    failure.fieldErrors = Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : [String(v)]]),
    );
  }
  return failure;
}

export function reasonOf(err: unknown): Failure['reason'] {
  return failureOf(err).reason;
}

/** What a shopper or an admin reads for each reason; the reason code itself is the contract. */
const MESSAGES: Record<Failure['reason'], string> = {
  VALIDATION: 'Some input was not accepted.',
  BATCH_TOO_LARGE: 'Too many calls in one request.',
  NO_SESSION: 'Your session expired — starting a new one.',
  NOT_ADMIN: 'Please sign in as an admin.',
  BAD_CREDENTIALS: 'Wrong password.',
  FORBIDDEN_ORIGIN: 'This page is not allowed to call the shop from here.',
  SALE_NOT_FOUND: 'This sale does not exist.',
  ORDER_NOT_FOUND: 'Order not found.',
  PROCEDURE_NOT_FOUND: 'The server does not offer this action yet.',
  METHOD_NOT_ALLOWED: 'The server refused this kind of request.',
  IDEMPOTENCY_IN_FLIGHT: 'Your purchase is still being processed…',
  SALE_ENDED: 'This sale has ended.',
  SALE_PAUSED: 'The sale is paused for a moment. Try again when it resumes.',
  SALE_NOT_STARTED: 'The sale has not started yet — watch the countdown.',
  USER_LIMIT: 'That would exceed your per-customer limit for this sale.',
  SOLD_OUT: 'Sold out — every unit is taken.',
  SALE_EXISTS: 'A sale with this id already exists.',
  PAYLOAD_TOO_LARGE: 'The request was too large.',
  UNSUPPORTED_MEDIA_TYPE: 'The request format was refused.',
  IDEMPOTENCY_MISMATCH: 'This purchase changed while it was being placed. Press Buy again.',
  RATE_LIMITED: 'Lots of traffic — waiting a moment before trying again.',
  INTERNAL: 'Something went wrong on our side.',
  QUEUE_UNAVAILABLE: 'Orders cannot be queued right now; nothing was reserved.',
  OUTCOME_UNKNOWN: 'Checking whether your order went through…',
  SALE_REBUILDING: 'The sale is being restored — one moment.',
  REBUILD_BLOCKED: 'The cache rebuild is blocked.',
  STORE_UNAVAILABLE: 'The stock store is unreachable right now. Please try again shortly.',
  SERVICE_UNAVAILABLE: 'The service is unavailable right now.',
  NETWORK: 'Could not reach the server.',
};

/**
 * Checked against our own table, not the contracts' ERROR_STATUS: importing values from
 * @surge/contracts would pull zod into the page bundle.
 */
function isReason(value: unknown): value is ErrorReason {
  return typeof value === 'string' && value !== 'NETWORK' && Object.hasOwn(MESSAGES, value);
}

export function messageFor(reason: Failure['reason']): string {
  return MESSAGES[reason];
}

/** One line for an admin: the message plus what a blocked rebuild waits for. */
export function describeFailure(f: Failure): string {
  const extra = f.waitingFor?.length ? ` (waiting for: ${f.waitingFor.join(', ')})` : '';
  const fields = f.fieldErrors
    ? ` ${Object.entries(f.fieldErrors)
        .map(([k, v]) => `${k}: ${v.join(', ')}`)
        .join('; ')}`
    : '';
  return `${f.reason} — ${messageFor(f.reason)}${extra}${fields}`;
}
