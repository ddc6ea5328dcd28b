import type { PrismaClient } from '@surge/db';
import type { Logger } from '@surge/infra';

/** SPEC §5b: every admin action in PostgreSQL — action, input, result, session, IP, time. */
export class AuditLog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: Logger,
    private readonly onRecorded?: (entry: AuditEntry) => void,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const input = redact(entry.input);
    try {
      await this.prisma.adminAudit.create({
        data: {
          action: entry.action,
          input: toJson(input),
          result: toJson(entry.result),
          ok: entry.ok,
          sessionId: entry.sessionId,
          ip: entry.ip,
        },
      });
    } catch (err) {
      // The action already happened; losing its audit row must at least be loud.
      this.log.error({ err, action: entry.action }, 'audit write failed');
    }
    this.onRecorded?.({ ...entry, input });
  }
}

export interface AuditEntry {
  action: string;
  input: unknown;
  ok: boolean;
  result: unknown;
  sessionId: string | null;
  ip: string;
}

function redact(input: unknown): unknown {
  if (input && typeof input === 'object' && 'password' in input) return { ...input, password: '[redacted]' };
  return input;
}

function toJson(v: unknown): object {
  return JSON.parse(JSON.stringify(v ?? null) ?? 'null') ?? {};
}
