import { z } from 'zod';
import { NAMESPACE_PATTERN } from './messages.ts';

/** Environment parsing shared by the server and the worker (docs/architecture.md#configuration). */
export const bool = z
  .enum(['true', 'false', '1', '0', ''])
  .transform((v) => v === 'true' || v === '1')
  .default(false);
export const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
};
export const bytes = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v, ctx) => {
      const m = /^(\d+)\s*([a-z]*)$/i.exec(v.trim());
      const unit = m ? BYTE_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
      if (!m || unit === undefined) {
        ctx.addIssue({ code: 'custom', message: 'a byte size such as 1048576, 64MiB or 1GiB' });
        return z.NEVER;
      }
      return Number(m[1]) * unit;
    });

/**
 * Where a process listens (its `HOST`) when none is given: every interface in production, this
 * machine only otherwise — a process that forgot NODE_ENV=production stays local (README.md#security).
 */
export function listenHost(host: string | undefined, nodeEnv: string): string {
  return host || (nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1');
}

export const commonEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/surge'),
  /** One URL, or with REDIS_CLUSTER the seed nodes of a Redis Cluster separated by commas. */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine(
      (v) => v.split(',').every((u) => URL.canParse(u.trim())),
      'one URL, or several separated by commas',
    ),
  /** REDIS_URL names seed nodes of a Redis Cluster (ioredis `Cluster`). */
  REDIS_CLUSTER: bool,
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  SURGE_NAMESPACE: z.string().regex(NAMESPACE_PATTERN, 'lowercase letters, digits, _ and -').default('surge'),
  LEASE_MS: int(5000, 200),
  REBUILD_TIMEOUT_MS: int(30_000, 100),
  IDEMPOTENCY_TTL_S: int(86_400, 1),
  STREAM_REPLICAS: int(1, 1),
  STREAM_MAX_BYTES: bytes('1GiB'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export function formatEnvIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment with `schema`, or throws a ConfigError naming every bad variable. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
): z.output<S> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${formatEnvIssues(parsed.error)}`);
  return parsed.data;
}
