import { createHash } from 'node:crypto';
import { type Challenge, createChallenge, randomInt, type Solution, verifySolution } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import type { Redis } from 'ioredis';
import { appError } from '../errors.ts';

export const POW_ALGORITHM = 'PBKDF2/SHA-256';

export interface PowConfig {
  /** The counter's upper bound; 0 turns proof of work off (README.md#security). */
  maxNumber: number;
  /** PBKDF2 iterations per attempt. */
  cost: number;
  ttlS: number;
  /** SESSION_SECRET: the HMAC keys are derived from it, one per purpose. */
  secret: string;
  usedKey: (signature: string) => string;
}

/**
 * Proof of work on new guest identities (README.md#security, ALTCHA v2 as altcha-lib implements it).
 * A challenge is signed and carries a signature of its own solution's derived key
 * (deterministic mode), so verifying costs two HMACs, not a PBKDF2 run. Each solution is
 * accepted once: the challenge's signature goes into Redis with SET NX until it expires.
 */
export class ProofOfWork {
  private readonly hmacSignatureSecret: string;
  private readonly hmacKeySignatureSecret: string;

  constructor(
    private readonly redis: Redis,
    private readonly cfg: PowConfig,
  ) {
    const derive = (purpose: string) =>
      createHash('sha256').update(`${cfg.secret}:pow:${purpose}`).digest('hex');
    this.hmacSignatureSecret = derive('challenge');
    this.hmacKeySignatureSecret = derive('key');
  }

  get enabled(): boolean {
    return this.cfg.maxNumber > 0;
  }

  /** A fresh challenge exactly as `createChallenge` makes it, or null when proof of work is off. */
  async challenge(): Promise<Challenge | null> {
    if (!this.enabled) return null;
    return createChallenge({
      algorithm: POW_ALGORITHM,
      cost: this.cfg.cost,
      counter: randomInt(this.cfg.maxNumber),
      deriveKey,
      expiresAt: new Date(Date.now() + this.cfg.ttlS * 1000),
      hmacSignatureSecret: this.hmacSignatureSecret,
      hmacKeySignatureSecret: this.hmacKeySignatureSecret,
    });
  }

  /**
   * Accepts `payload` (the base64 JSON the ALTCHA widget submits) once, or throws
   * POW_REQUIRED (none) / POW_INVALID (malformed, wrong, expired, already used) — 403 both.
   */
  async accept(payload: string | undefined): Promise<void> {
    if (!this.enabled) return;
    if (!payload) throw appError('POW_REQUIRED');
    const decoded = decodePayload(payload);
    if (!decoded) throw appError('POW_INVALID');
    const { challenge, solution } = decoded;
    let verified = false;
    try {
      const r = await verifySolution({
        challenge,
        solution,
        deriveKey,
        hmacSignatureSecret: this.hmacSignatureSecret,
        hmacKeySignatureSecret: this.hmacKeySignatureSecret,
      });
      // Only challenges this server made carry a key signature; never fall back to re-deriving.
      verified = r.verified && typeof challenge.parameters.keySignature === 'string';
    } catch {
      verified = false;
    }
    if (!verified || typeof challenge.parameters.expiresAt !== 'number') throw appError('POW_INVALID');
    const ttlS = Math.max(1, Math.ceil(challenge.parameters.expiresAt - Date.now() / 1000) + 1);
    let fresh: string | null;
    try {
      fresh = await this.redis.set(this.cfg.usedKey(challenge.signature ?? ''), '1', 'EX', ttlS, 'NX');
    } catch (err) {
      throw appError('STORE_UNAVAILABLE', { retryAfterMs: 1000 }, err);
    }
    if (fresh !== 'OK') throw appError('POW_INVALID');
  }
}

const HEX = /^[0-9a-f]{1,256}$/;

/** The payload's challenge and solution with the shapes verifySolution expects, else null. */
function decodePayload(payload: string): { challenge: Challenge; solution: Solution } | null {
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(obj) || !isRecord(obj.challenge) || !isRecord(obj.solution)) return null;
  const { challenge, solution } = obj;
  const p = challenge.parameters;
  if (!isRecord(p) || typeof challenge.signature !== 'string' || !HEX.test(challenge.signature)) return null;
  if (p.algorithm !== POW_ALGORITHM || typeof p.nonce !== 'string' || typeof p.salt !== 'string') return null;
  if (!Number.isSafeInteger(p.cost) || !Number.isSafeInteger(p.keyLength)) return null;
  if (typeof p.keyPrefix !== 'string' || typeof p.keySignature !== 'string') return null;
  if (!Number.isSafeInteger(solution.counter) || typeof solution.derivedKey !== 'string') return null;
  return {
    challenge: challenge as unknown as Challenge,
    solution: { counter: solution.counter as number, derivedKey: solution.derivedKey },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
