import { hostname } from 'node:os';
import { bool, ConfigError, commonEnvSchema, int, listenHost, parseEnv } from '@surge/contracts/config';
import { z } from 'zod';

/**
 * The worker's configuration (docs/architecture.md#configuration), validated once at start; errors
 * name the variable.
 */
const workerEnvSchema = commonEnvSchema.extend({
  WORKER_PORT: int(9464),
  /** Listen address of /healthz, /readyz, /metrics; default 0.0.0.0 in production, 127.0.0.1 otherwise (as the server's). */
  HOST: z.string().optional(),
  /** When set, `/metrics` asks for it as a bearer token (README.md#security, L2). */
  METRICS_TOKEN: z.string().optional(),
  WORKER_ID: z.string().max(64).optional(),
  WORKER_MAX_ATTEMPTS: int(10, 1),
  PAYMENT_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  PAYMENT_LATENCY_MS: int(0),
  /** Messages persisted per PostgreSQL transaction. */
  WORKER_BATCH_SIZE: int(100, 1),
  /**
   * Batches in flight at once in one worker when a backlog waits: the next batch claims and
   * persists while the previous one waits on PostgreSQL or Redis. 1 (one at a time) by default:
   * on a host the worker shares with the server, a second batch drains faster but takes the CPU
   * the intake needs (docs/benchmarks.md#the-worker-pipelined-and-on-pg).
   */
  WORKER_CONCURRENCY: int(1, 1),
  /** How long a batch that is not full waits for more messages (0: never). */
  WORKER_BATCH_LINGER_MS: int(5),
  /** JetStream ack wait: a killed worker's messages come back after it; held batches send `working()`. */
  WORKER_ACK_WAIT_MS: int(5_000, 100),
  HEARTBEAT_MS: int(1000, 100),
  /** Fault injection for tests: die hard around the persist transaction of a batch. */
  SURGE_FAULT_WORKER_CRASH: z.enum(['', 'before-commit', 'after-commit']).default(''),
  /** Fault injection for tests: never extend the ack deadline (forces concurrent redelivery). */
  SURGE_FAULT_NO_WORKING: bool,
});

export type WorkerEnv = Omit<z.output<typeof workerEnvSchema>, 'HOST'> & { HOST: string; workerId: string };

export { ConfigError };

/**
 * The environment this process was started with. The worker reads `process.env` here only;
 * everything else gets it parsed (loadWorkerEnv) or from here.
 */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}

/** The start-up logger's level, before the configuration is checked (a bad value: info). */
export function startupLogLevel(source: Record<string, string | undefined> = processEnv()): string {
  return commonEnvSchema.shape.LOG_LEVEL.catch('info').parse(source.LOG_LEVEL);
}

export function loadWorkerEnv(source: Record<string, string | undefined> = processEnv()): WorkerEnv {
  const env = parseEnv(workerEnvSchema, source);
  return {
    ...env,
    HOST: listenHost(env.HOST, env.NODE_ENV),
    workerId: env.WORKER_ID || `${hostname()}-${process.pid}`,
  };
}
