/**
 * A background loop that never overlaps itself: a tick still running when the next one is due
 * is not queued behind it (the next due tick catches up), a failed tick is reported and the
 * loop goes on, and `stop()` waits for the tick in progress. The sweep loop and the waiting
 * room's admission clock run on it.
 */
export function startLoop(
  intervalMs: number,
  tick: () => Promise<void>,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (stopped || running) return;
    running = tick()
      .catch(onError)
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
