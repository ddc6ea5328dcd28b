// Run by tests/unit/subscription-signals.test.ts in a child process with --expose-gc (issue 10
// L7): N subscribe/unsubscribe cycles of a live subscription as live.ts runs one — the process's
// Shutdown gives it a signal, the SharedSampler streams a subject until the request aborts —
// and prints the heap retained after a forced GC before and after, as one JSON line.
// `--composite` measures the old way, AbortSignal.any([request, processSignal]), for comparison.
import { Shutdown } from '../../../apps/server/src/http/shutdown.ts';
import { SharedSampler } from '../../../apps/server/src/live/shared-sampler.ts';

const composite = process.argv.includes('--composite');
const cycles = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const shutdown = new Shutdown();
const processSignal = new AbortController().signal;
const sampler = new SharedSampler();
const read = async () => ({ remaining: 1 });

async function cycle(): Promise<void> {
  const request = new AbortController();
  const signal = composite
    ? AbortSignal.any([request.signal, processSignal])
    : shutdown.subscriptionSignal(request.signal);
  const stream = sampler.watch('sale:s', read, { intervalMs: 1000, signal });
  const first = await stream.next(); // the current value: the subscription is live
  if (first.done) throw new Error('the stream ended before its first value');
  request.abort(); // the client goes away
  if (!(await stream.next()).done) throw new Error('the stream outlived its request');
}

async function retained(): Promise<number> {
  // FinalizationRegistry callbacks (which clean AbortSignal.any's dependants) run after a GC.
  for (let i = 0; i < 5; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 10));
  }
  return process.memoryUsage().heapUsed;
}

for (let i = 0; i < 1000; i++) await cycle(); // warm-up: code, inline caches, pools
const before = await retained();
for (let i = 0; i < cycles; i++) await cycle();
const after = await retained();
console.log(
  JSON.stringify({
    node: process.version,
    cycles,
    composite,
    growthBytes: after - before,
    openSubscriptions: shutdown.openSubscriptions,
    hubs: sampler.size(),
  }),
);
