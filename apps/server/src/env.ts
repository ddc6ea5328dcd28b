import { bool, ConfigError, commonEnvSchema, int, listenHost, parseEnv } from '@surge/contracts/config';
import { z } from 'zod';
import { estimatedBits, MIN_SECRET_BITS } from './auth/strength.ts';
import { parseTrustProxy } from './http/client-ip.ts';

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
    /** Listen address; default 0.0.0.0 in production, 127.0.0.1 otherwise (README.md#security, L3). */
    HOST: z.string().optional(),
    /** Development or test on a non-loopback HOST: only when said so (no Secure cookies there). */
    DEV_LISTEN_ANY: bool,
    ALLOWED_ORIGINS: z.string().optional(),
    /** Bearer token `/metrics` asks for (README.md#security, L2); required in production. */
    METRICS_TOKEN: z.string().optional(),
    VITE_DEV_PORT: int(5173),
    ADMIN_PASSWORD: z.string().min(1).optional(),
    SESSION_SECRET: z.string().optional(),
    RATE_LIMIT_PER_USER: int(10),
    RATE_LIMIT_PER_IP: int(300),
    RATE_LIMIT_WINDOW_MS: int(10_000, 1),
    /** Queries and subscriptions per IP group and window (README.md#security); 0 = off. */
    RATE_LIMIT_READS_PER_IP: int(600),
    /** Open SSE streams per IP group across servers, their longest life, open sockets (README.md#security). */
    SSE_MAX_PER_IP: int(20),
    SSE_MAX_DURATION_S: int(3600),
    /** How long a stream counts towards SSE_MAX_PER_IP without its server renewing it (a crashed server's). */
    SSE_LEASE_S: int(30, 1),
    MAX_CONNECTIONS: int(10_000),
    ADMIN_LOGIN_LIMIT: int(10, 1),
    ADMIN_LOGIN_WINDOW_MS: int(60_000, 1),
    /** Failed logins of all callers per window answered without delay; then backoff (README.md#security). */
    ADMIN_LOGIN_GLOBAL_FREE: int(20),
    BREAKER_FAILURES: int(5, 1),
    BREAKER_HALF_OPEN_MS: int(10_000, 1),
    /** false | true (= 1) | a hop count | comma-separated trusted proxy CIDRs (README.md#security). */
    TRUST_PROXY: z
      .string()
      .default('false')
      .transform((v, ctx) => {
        try {
          return parseTrustProxy(v);
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            message: `false, true, a hop count or trusted proxy CIDRs (${(err as Error).message})`,
          });
          return z.NEVER;
        }
      }),
    /** Proof of work on new guest sessions (README.md#security): counter bound (0 = off), PBKDF2 cost, TTL. */
    POW_MAX_NUMBER: int(500),
    POW_COST: int(1000, 1),
    POW_TTL_S: int(300, 1),
    /** Units one IP group may hold in one sale, checked in the reserve step (README.md#security); 0 = off. */
    IP_UNIT_LIMIT: int(0),
    /** Single JSON mutations skip tRPC's web Request/Response layer (http/fast-mutation.ts). */
    TRPC_FAST_PATH: boolDefaultTrue,
    WEB_DIST: z.string().optional(),
    SWEEP_INTERVAL_MS: int(1000, 10),
    ADMISSION_TICK_MS: int(100, 10),
    /** Fault injection for tests: exit hard after reserving and before publishing. */
    SURGE_FAULT_EXIT_AFTER_RESERVE: bool,
    /** Fault injection for tests: exit hard after a restock's PostgreSQL commit, before Redis. */
    SURGE_FAULT_EXIT_AFTER_RESTOCK_COMMIT: bool,
    /** Fault injection for tests: hold every publish back this long after reserving. */
    SURGE_FAULT_PUBLISH_DELAY_MS: int(0),
  })
  .superRefine((env, ctx) => {
    const prod = env.NODE_ENV === 'production';
    // Production refuses secrets below ~80 bits of estimated strength (README.md#security).
    const weak = (secret: string) => {
      const bits = estimatedBits(secret);
      return bits < MIN_SECRET_BITS
        ? `too weak for production: ~${Math.floor(bits)} bits estimated, ${MIN_SECRET_BITS} required (e.g. \`openssl rand -base64 32\`)`
        : null;
    };
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
    } else if (prod) {
      const message = weak(env.SESSION_SECRET);
      if (message) ctx.addIssue({ code: 'custom', path: ['SESSION_SECRET'], message });
    }
    if (!env.ADMIN_PASSWORD) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_PASSWORD'],
        message: 'required; `npm start` generates one into .env.local for development',
      });
    } else if (prod) {
      const message = weak(env.ADMIN_PASSWORD);
      if (message) ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message });
    }
    // `/metrics` on the shop port is not public in production (issue 10 L2).
    if (prod && !env.METRICS_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['METRICS_TOKEN'],
        message:
          'required in production: the bearer token Prometheus sends for /metrics (e.g. `openssl rand -hex 32`)',
      });
    } else if (prod && env.METRICS_TOKEN) {
      const message = weak(env.METRICS_TOKEN);
      if (message) ctx.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message });
    }
    // The localhost fallback is for development: production names its own origins (issue 10 L8).
    if (prod && !env.ALLOWED_ORIGINS?.split(',').some((o) => o.trim())) {
      ctx.addIssue({
        code: 'custom',
        path: ['ALLOWED_ORIGINS'],
        message: 'required in production: the browser origins of the shop and HUD, e.g. https://shop.example',
      });
    }
  });

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export type ServerEnv = Omit<z.output<typeof serverEnvSchema>, 'HOST'> & {
  HOST: string;
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
  const prod = env.NODE_ENV === 'production';
  const host = listenHost(env.HOST, env.NODE_ENV);
  // A process that forgot NODE_ENV=production runs as development (no Secure cookies, stack
  // traces in answers): it stays on this machine unless told otherwise (issue 10 L3).
  if (!prod && !env.DEV_LISTEN_ANY && !isLoopback(host))
    throw new ConfigError(
      `invalid configuration: HOST: ${host} is beyond this machine while NODE_ENV is ${env.NODE_ENV}; set NODE_ENV=production, or DEV_LISTEN_ANY=true to mean it`,
    );
  const origins = env.ALLOWED_ORIGINS
    ? env.ALLOWED_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean)
    : [env.PORT, env.VITE_DEV_PORT].flatMap((p) => [`http://localhost:${p}`, `http://127.0.0.1:${p}`]);
  return {
    ...env,
    HOST: host,
    SESSION_SECRET: env.SESSION_SECRET ?? '',
    ADMIN_PASSWORD: env.ADMIN_PASSWORD ?? '',
    allowedOrigins: new Set(origins),
  };
}
