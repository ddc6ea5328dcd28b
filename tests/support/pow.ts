import { type Challenge, solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';

/**
 * Solves a `session.challenge` as the shop page's Web Worker does (ALTCHA v2, PBKDF2/SHA-256)
 * and returns the base64 payload `session.start` takes. Tests and the bench pay the same
 * proof of work as any client: there is no way around it but POW_MAX_NUMBER=0.
 */
export async function solvePow(challenge: Challenge): Promise<string> {
  const solution = await solveChallenge({ challenge, deriveKey, timeout: 60_000 });
  if (!solution) throw new Error('proof of work: no solution found');
  const { parameters, signature } = challenge;
  return Buffer.from(JSON.stringify({ challenge: { parameters, signature }, solution })).toString('base64');
}
