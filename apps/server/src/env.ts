import { bool, ConfigError, commonEnvSchema, int, parseEnv } from '@surge/contracts/config';
import { z } from 'zod';

/** Like `bool` of @surge/contracts/config, but on unless set to false/0 (empty = default). */
const boolDefaultTrue = z
  .enum(['true', 'false', '1', '0', ''])
  .transform((v) => v !== 'false' && v !== '0')
  .default(true);

/**
 * The server's whole configuration, read from the environment once at start
 * (docs/architecture.md#configuration).
 * A bad value stops the process with an error that names the variable.
 */
const serverEnvSchema = commonEnvSchema
  .extend({
    PORT: int(3000),
    HOST: z.string().default('0.0.0.0'),
    ALLOWED_ORIGINS: z.string().optional(),
    VITE_DEV_PORT: int(5173),
    ADMIN_PASSWORD: z.string().min(1).optional(),
    SESSION_SECRET: z.string().optional(),
    RATE_LIMIT_PER_USER: int(10),
    RATE_LIMIT_PER_IP: int(300),
    RATE_LIMIT_WINDOW_MS: int(10_000, 1),
    ADMIN_LOGIN_LIMIT: int(10, 1),
    ADMIN_LOGIN_WINDOW_MS: int(60_000, 1),
    BREAKER_FAILURES: int(5, 1),
    BREAKER_HALF_OPEN_MS: int(10_000, 1),
    TRUST_PROXY: bool,
    /** Single JSON mutations skip tRPC's web Request/Response layer (http/fast-mutation.ts). */
    TRPC_FAST_PATH: boolDefaultTrue,
    WEB_DIST: z.string().optional(),
    SWEEP_INTERVAL_MS: int(1000, 10),
    /** Fault injection for tests: exit hard after reserving and before publishing. */
    SURGE_FAULT_EXIT_AFTER_RESERVE: bool,
    /** Fault injection for tests: hold every publish back this long after reserving. */
    SURGE_FAULT_PUBLISH_DELAY_MS: int(0),
  })
  .superRefine((env, ctx) => {
    const prod = env.NODE_ENV === 'production';
    if (!env.SESSION_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['SESSION_SECRET'],
        message: 'required (≥ 32 chars); `npm start` generates one into .env.local for development',
      });
    } else if (env.SESSION_SECRET.length < 32) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_SECRET'], message: 'must be at least 32 characters' });
    } else if (prod && /^(dev|test|changeme)/i.test(env.SESSION_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: ['SESSION_SECRET'],
        message: 'a default secret is refused in production',
      });
    }
    if (!env.ADMIN_PASSWORD) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_PASSWORD'],
        message: 'required; `npm start` generates one into .env.local for development',
      });
    } else if (
      prod &&
      (env.ADMIN_PASSWORD.length < 12 || /^(admin|password|changeme)$/i.test(env.ADMIN_PASSWORD))
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_PASSWORD'],
        message: 'too weak for production (≥ 12 chars, not a default)',
      });
    }
  });

export type ServerEnv = z.output<typeof serverEnvSchema> & {
  SESSION_SECRET: string;
  ADMIN_PASSWORD: string;
  allowedOrigins: Set<string>;
};

export { ConfigError };

/**
 * The environment this process was started with. The server reads `process.env` here only;
 * everything else gets it parsed (loadServerEnv) or from here.
 */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}

/** The start-up logger's level, before the configuration is checked (a bad value: info). */
export function startupLogLevel(source: Record<string, string | undefined> = processEnv()): string {
  return commonEnvSchema.shape.LOG_LEVEL.catch('info').parse(source.LOG_LEVEL);
}

/** NODE_ENV of this process, for what is fixed as modules load (tRPC's isDev). */
export function isProductionProcess(): boolean {
  return processEnv().NODE_ENV === 'production';
}

export function loadServerEnv(source: Record<string, string | undefined> = processEnv()): ServerEnv {
  const env = parseEnv(serverEnvSchema, source);
  const origins = env.ALLOWED_ORIGINS
    ? env.ALLOWED_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean)
    : [env.PORT, env.VITE_DEV_PORT].flatMap((p) => [`http://localhost:${p}`, `http://127.0.0.1:${p}`]);
  return {
    ...env,
    SESSION_SECRET: env.SESSION_SECRET ?? '',
    ADMIN_PASSWORD: env.ADMIN_PASSWORD ?? '',
    allowedOrigins: new Set(origins),
  };
}
