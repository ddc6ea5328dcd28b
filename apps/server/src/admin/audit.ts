import type { PrismaClient } from '@surge/db';
import type { Logger } from '@surge/infra';

/**
 * Every admin action in PostgreSQL (docs/architecture.md#logs-metrics-health-and-audit) — action,
 * input, result, session, IP, time.
 */
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
          input: auditJson(input),
          result: auditJson(entry.result),
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

/**
 * What was sent, as JSON the audit table can hold: a refused request may carry any input
 * (nested 20,000 levels deep, megabytes long), which must never turn into an error itself.
 */
export function auditJson(v: unknown, maxChars = 4000): object {
  try {
    const text = JSON.stringify(v ?? null) ?? 'null';
    if (text.length > maxChars) return { truncated: text.slice(0, maxChars) };
    return JSON.parse(text) ?? {};
  } catch {
    return { unserializable: true };
  }
}

/** A short summary of an admin action's input for the event feed (bounded, like the audit row). */
export function describeInput(input: unknown): string {
  if (!input || typeof input !== 'object') return '';
  const i = input as Record<string, unknown>;
  const parts = ['saleId', 'id', 'quantity', 'ids']
    .filter((k) => i[k] !== undefined)
    .map((k) => `${k}=${JSON.stringify(auditJson(i[k], 120))}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
