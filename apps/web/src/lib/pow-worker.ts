/// <reference lib="webworker" />
import { type Challenge, solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/web/pbkdf2';

/**
 * The proof-of-work solver (README.md#security), off the page's main thread: receives the challenge of
 * `session.start`, answers with the ALTCHA v2 solution (or null when it gave up).
 */
self.onmessage = async (e: MessageEvent<Challenge>) => {
  try {
    const solution = await solveChallenge({ challenge: e.data, deriveKey, timeout: 60_000 });
    self.postMessage({ solution });
  } catch (err) {
    self.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
};
