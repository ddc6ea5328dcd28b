import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';

/** README.md#security: production refuses ADMIN_PASSWORD and SESSION_SECRET below this estimate. */
export const MIN_SECRET_BITS = 80;

let estimator: ZxcvbnFactory | undefined;

/**
 * Estimated bits of guessing a secret takes (zxcvbn-ts with its common-password and keyboard
 * dictionaries): log2 of the guesses. Built on first use — only production start-up asks.
 */
export function estimatedBits(secret: string): number {
  estimator ??= new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs });
  // zxcvbn's matching is quadratic in length; past 100 characters the start decides nothing.
  return estimator.check(secret.slice(0, 100)).guessesLog10 * Math.log2(10);
}
