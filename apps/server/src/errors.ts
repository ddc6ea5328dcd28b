import { ERROR_STATUS, type ErrorReason } from '@surge/contracts';

/**
 * The one error type services throw (STYLE §2): a stable reason from SPEC §5 and the extras
 * some answers carry. Mapped to tRPC codes and HTTP statuses once, in trpc/error-formatter.ts.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  constructor(
    readonly reason: ErrorReason,
    message?: string,
    readonly extra: {
      retryAfterMs?: number;
      fieldErrors?: Record<string, string[]>;
      waitingFor?: string[];
    } = {},
    options?: ErrorOptions,
  ) {
    super(message ?? reason, options);
    this.status = ERROR_STATUS[reason];
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Human messages for the reasons a shopper may see; the reason itself is the contract. */
export const REASON_MESSAGES: Partial<Record<ErrorReason, string>> = {
  SALE_NOT_FOUND: 'No such sale',
  SOLD_OUT: 'Sold out',
  USER_LIMIT: 'This order would exceed your limit for this sale',
  SALE_PAUSED: 'The sale is paused',
  SALE_ENDED: 'The sale has ended',
  SALE_NOT_STARTED: 'The sale has not started yet',
  SALE_REBUILDING: 'The sale is being restored; retry shortly',
  QUEUE_UNAVAILABLE: 'Orders cannot be queued right now; nothing was reserved',
  OUTCOME_UNKNOWN: 'The outcome is not known yet; retry with the same idempotency key',
  IDEMPOTENCY_IN_FLIGHT: 'This purchase is still being settled; retry shortly',
  IDEMPOTENCY_MISMATCH: 'This idempotency key was used with a different order',
  STORE_UNAVAILABLE: 'The stock store is unreachable',
  RATE_LIMITED: 'Too many requests',
};

export function appError(reason: ErrorReason, extra?: AppError['extra'], cause?: unknown): AppError {
  return new AppError(reason, REASON_MESSAGES[reason], extra, cause === undefined ? undefined : { cause });
}
