import { solvePow } from './proof-of-work.ts';
import { trpcClient } from './trpc.ts';

let pending: Promise<string> | null = null;
const checkingListeners = new Set<(checking: boolean) => void>();

/** The shop page shows "checking your browser" while a proof of work runs longer than ~300 ms. */
export function onCheckingBrowser(listener: (checking: boolean) => void): () => void {
  checkingListeners.add(listener);
  return () => checkingListeners.delete(listener);
}
const setChecking = (v: boolean) => {
  for (const l of checkingListeners) l(v);
};

/**
 * A new identity costs a proof of work (README.md#security): with a valid cookie the server keeps the
 * user and ignores `pow`, so the challenge is solved only when there is no session yet —
 * a first visit, or a NO_SESSION answer (renew).
 */
async function startSession(renew: boolean): Promise<string> {
  if (!renew) {
    // A returning shopper's cookie may still be valid: try it without any work first.
    const r = await trpcClient.session.start.mutate({}).catch((err: unknown) => err);
    if (!(r instanceof Error)) return (r as { userId: string }).userId;
    if (!isPowRequired(r)) throw r;
  }
  const challenge = await trpcClient.session.challenge.query();
  if (!challenge) return (await trpcClient.session.start.mutate({})).userId;
  try {
    const pow = await solvePow(challenge, () => setChecking(true));
    return (await trpcClient.session.start.mutate({ pow })).userId;
  } finally {
    setChecking(false);
  }
}

function isPowRequired(err: unknown): boolean {
  const data = (err as { data?: { reason?: string } }).data;
  return data?.reason === 'POW_REQUIRED';
}

/**
 * `session.start` once per page load (the guest cookie `surge_sid`); a NO_SESSION answer
 * later renews it. Shared so React's double effects in development still call it once.
 */
export function ensureSession(renew = false): Promise<string> {
  if (!pending || renew) {
    const started = startSession(renew);
    // A failed start may be retried by the next caller.
    started.catch(() => {
      if (pending === started) pending = null;
    });
    pending = started;
  }
  return pending;
}
