import { ERROR_MESSAGES, ERROR_STATUS, type ErrorReason } from '@surge/contracts/errors';

let savedStackLimit = Error.stackTraceLimit;
/** Called for the argument of `super`: turns stack capture off for a 4xx until the constructor restores it. */
function withoutStackIf4xx(status: number, message: string): string {
  savedStackLimit = Error.stackTraceLimit;
  if (status < 500) Error.stackTraceLimit = 0;
  return message;
}

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
    // A 4xx is an answer, not a fault: no stack trace is captured for it (capturing one was a
    // twentieth of a refusal's CPU in a spike; docs/benchmarks.md#where-a-refusal-spends-its-cpu).
    super(withoutStackIf4xx(ERROR_STATUS[reason], message ?? ERROR_MESSAGES[reason]), options);
    Error.stackTraceLimit = savedStackLimit;
    this.status = ERROR_STATUS[reason];
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

export function appError(reason: ErrorReason, extra?: AppError['extra'], cause?: unknown): AppError {
  return new AppError(reason, undefined, extra, cause === undefined ? undefined : { cause });
}
