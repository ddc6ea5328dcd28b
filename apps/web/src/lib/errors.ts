// The zod-free part of the contracts: the page bundle gets the reasons and their messages only.
import { ERROR_MESSAGES, type ErrorReason, isErrorReason } from '@surge/contracts/errors';
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
  const reason = data && isErrorReason(data.reason) ? data.reason : 'NETWORK';
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

/** No answer at all came back: the page's own reason, beside the server's catalogue. */
const NETWORK_MESSAGE = 'Could not reach the server.';

/** What a shopper or an admin reads for each reason (the catalogue lives in the contracts). */
export function messageFor(reason: Failure['reason']): string {
  return reason === 'NETWORK' ? NETWORK_MESSAGE : ERROR_MESSAGES[reason];
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
