import closeWithGrace from 'close-with-grace';
import type { Logger } from './logger.ts';

/**
 * A repeat of the first stop signal within this long is the same stop request delivered twice:
 * a SIGTERM to a whole process group (`kill -TERM -- -PGID`, `timeout`, a supervisor that
 * signals the group) reaches an app directly and again through the launcher that relays it
 * (`npm start`, `npm run start:*`). close-with-grace alone takes any second signal as "force":
 * the app would skip its drain. A human's second Ctrl-C comes later than this and still forces.
 */
export const DUPLICATE_SIGNAL_MS = 500;

export type SignalVerdict = 'stop' | 'duplicate' | 'force';

/** What a SIGINT/SIGTERM means, given the first one this process had (if any). */
export function judgeSignal(
  first: { signal: string; at: number } | null,
  signal: string,
  at: number,
): SignalVerdict {
  if (first === null) return 'stop';
  if (signal === first.signal && at - first.at < DUPLICATE_SIGNAL_MS) return 'duplicate';
  return 'force';
}

/**
 * The apps' graceful stop: close-with-grace (a fatal error or any other signal, `delay` to
 * finish, then exit), with SIGINT and SIGTERM judged by `judgeSignal` — the first starts the
 * stop, its duplicate is logged and ignored, any other forces the exit.
 */
export function onShutdown(
  o: { delay: number; log: Logger },
  stop: (why: { signal?: string; err?: unknown }) => Promise<void>,
): void {
  let first: { signal: string; at: number } | null = null;
  let closing = false;
  const graceful = closeWithGrace(
    { delay: o.delay, logger: o.log, skip: ['SIGINT', 'SIGTERM'] },
    async ({ signal, err }) => {
      closing = true;
      await stop(err ? { err } : { signal: first?.signal ?? signal });
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const at = Date.now();
      // Already closing for another reason (an error, SIGHUP…): a stop signal now forces.
      const verdict = closing && first === null ? 'force' : judgeSignal(first, signal, at);
      if (verdict === 'stop') {
        first = { signal, at };
        void graceful.close();
      } else if (verdict === 'duplicate') {
        o.log.info(
          { signal },
          `${signal} again within ${DUPLICATE_SIGNAL_MS} ms: the same stop request (sent to the process group and relayed), still draining`,
        );
      } else {
        o.log.error(`second ${signal}, exiting`);
        process.exit(1);
      }
    });
  }
}
