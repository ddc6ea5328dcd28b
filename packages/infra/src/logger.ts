import { pino } from 'pino';

/**
 * The root logger of a process: JSON lines, one child per request / message
 * (docs/architecture.md#logs-metrics-health-and-audit).
 */
export function createLogger(level: string, name: string) {
  return pino({
    level,
    name,
    base: { pid: process.pid },
    redact: { paths: ['password', '*.password', 'req.headers.cookie'], censor: '[redacted]' },
  });
}
export type Logger = ReturnType<typeof createLogger>;
