import { ERROR_MESSAGES, ERROR_STATUS, type ErrorReason } from '@surge/contracts/errors';

/**
 * The one error type services throw: a stable reason (docs/architecture.md#error-reasons) and the
 * extras some answers carry. Mapped to tRPC codes and HTTP statuses once, in
 * trpc/error-formatter.ts. The message is the reason's entry in the contracts' catalogue unless the
 * caller has something more specific to say.
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
    super(message ?? ERROR_MESSAGES[reason], options);
    this.status = ERROR_STATUS[reason];
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

export function appError(reason: ErrorReason, extra?: AppError['extra'], cause?: unknown): AppError {
  return new AppError(reason, undefined, extra, cause === undefined ? undefined : { cause });
}
