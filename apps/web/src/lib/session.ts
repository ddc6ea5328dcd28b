import { trpcClient } from './trpc.ts';

let pending: Promise<string> | null = null;

/**
 * `session.start` once per page load (the guest cookie `surge_sid`); a NO_SESSION answer
 * later renews it. Shared so React's double effects in development still call it once.
 */
export function ensureSession(renew = false): Promise<string> {
  if (!pending || renew) {
    const started = trpcClient.session.start.mutate({}).then((r) => r.userId);
    // A failed start may be retried by the next caller.
    started.catch(() => {
      if (pending === started) pending = null;
    });
    pending = started;
  }
  return pending;
}
