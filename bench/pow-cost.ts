import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ProofOfWork } from '../apps/server/src/auth/proof-of-work.ts';
import { solvePow } from '../tests/support/pow.ts';
import { SHARED } from '../tests/support/services.ts';

/**
 * The cost of the proof of work (README.md#security, issue 10 "Figures"), at the server's defaults
 * (POW_MAX_NUMBER 500, POW_COST 1000): what one new identity costs a client in Node (the
 * shop page prints its own figure in the e2e run), and what verifying it costs the server —
 * two HMACs and one Redis SET NX per `session.start`.
 */
export async function powCostLines(samples = 20): Promise<string[]> {
  const redis = new Redis(SHARED.redis);
  const ns = `bench_pow_${randomBytes(4).toString('hex')}`;
  const pow = new ProofOfWork(redis, {
    maxNumber: 500,
    cost: 1000,
    ttlS: 300,
    secret: randomBytes(32).toString('hex'),
    usedKey: (s) => `${ns}:pow:used:${s}`,
  });
  try {
    const solveMs: number[] = [];
    const payloads: string[] = [];
    for (let i = 0; i < samples; i++) {
      const challenge = await pow.challenge();
      if (!challenge) throw new Error('proof of work is off');
      const t0 = performance.now();
      payloads.push(await solvePow(challenge));
      solveMs.push(performance.now() - t0);
    }
    const t0 = performance.now();
    for (const p of payloads) await pow.accept(p);
    const verifyUs = ((performance.now() - t0) * 1000) / payloads.length;
    const sorted = [...solveMs].sort((a, b) => a - b);
    const mean = solveMs.reduce((s, v) => s + v, 0) / solveMs.length;
    return [
      `proof of work (defaults POW_MAX_NUMBER=500, POW_COST=1000), ${samples} challenges:`,
      `  solve in Node: mean ${mean.toFixed(0)} ms, p50 ${sorted[Math.floor(samples / 2)]?.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms`,
      `  verify per session.start (2 HMACs + Redis SET NX): ${verifyUs.toFixed(0)} µs`,
    ];
  } finally {
    const keys = await redis.keys(`${ns}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await powCostLines()) console.log(line);
}
