import type { Challenge, Solution } from 'altcha-lib';

/** How long a solve may take before the page says it is checking the browser. */
export const INVISIBLE_MS = 300;

/**
 * Solves a `session.challenge` in a Web Worker and returns the base64 payload that
 * `session.start` takes — the same `{ challenge, solution }` JSON the ALTCHA widget submits.
 * `onSlow` fires once when the solve outlasts INVISIBLE_MS.
 */
export async function solvePow(challenge: Challenge, onSlow?: () => void): Promise<string> {
  const started = performance.now();
  const worker = new Worker(new URL('./pow-worker.ts', import.meta.url), { type: 'module' });
  const slow = setTimeout(() => onSlow?.(), INVISIBLE_MS);
  try {
    const solution = await new Promise<Solution>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ solution?: Solution | null; error?: string }>) =>
        e.data.solution
          ? resolve(e.data.solution)
          : reject(new Error(e.data.error ?? 'proof of work gave up'));
      worker.onerror = (e) => reject(new Error(e.message || 'proof-of-work worker failed'));
      worker.postMessage(challenge);
    });
    const { signature, parameters } = challenge;
    const payload = { challenge: { parameters, signature }, solution };
    // For the e2e run's report of the solve time at the default difficulty.
    (globalThis as { __surgePowMs?: number }).__surgePowMs = Math.round(performance.now() - started);
    return btoa(JSON.stringify(payload));
  } finally {
    clearTimeout(slow);
    worker.terminate();
  }
}
