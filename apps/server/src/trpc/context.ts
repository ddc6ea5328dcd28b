import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '@surge/infra';
import type { CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import type { DomainServices } from '../services.ts';

const CORRELATION = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Per-request context: the request itself, who is calling, a correlation id (made here; a
 * client's well-formed `X-Correlation-Id` is only logged beside it) and the process's domain services —
 * never a raw Redis, NATS or PostgreSQL client. Everything else (the session, the admin check)
 * is resolved by the procedure that needs it.
 */
export function contextFactory(server: {
  log: Logger;
  clientIp(req: IncomingMessage): string;
  domain: DomainServices;
}) {
  return ({ req, res }: CreateHTTPContextOptions) => {
    const header = req.headers['x-correlation-id'];
    const given = Array.isArray(header) ? header[0] : header;
    // The server makes its own id: a client's could collide with or impersonate another
    // request's trail (issue 10 L6). A well-formed one is logged beside it, to join the two.
    const correlationId = randomUUID();
    res.setHeader('X-Correlation-Id', correlationId);
    // A child logger per request: every line it writes carries the correlation id, which
    // also travels in the NATS headers to the worker and into the order row.
    const log = server.log.child(
      given && CORRELATION.test(given) ? { correlationId, clientCorrelationId: given } : { correlationId },
    );
    return { req, res, ip: server.clientIp(req), correlationId, log, services: server.domain };
  };
}

export type Context = Awaited<ReturnType<ReturnType<typeof contextFactory>>>;
