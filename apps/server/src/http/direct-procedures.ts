import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { orderPlaceInput, queueRefInput } from '@surge/contracts';
import type { Logger } from '@surge/infra';
import type { z } from 'zod';
import { isAppError } from '../errors.ts';
import type { DomainServices } from '../services.ts';
import { toTRPCError } from '../trpc/trpc.ts';
import { DECLINE, type DirectProcedure } from './fast-mutation.ts';

type Server = {
  log: Logger;
  clientIp(req: IncomingMessage): string;
  domain: Pick<DomainServices, 'sessions' | 'intake' | 'room'>;
};

/**
 * The lean twins of the spike's two hot mutations (docs/benchmarks.md#where-a-refusal-spends-its-cpu),
 * answered by the fast path without tRPC's call machinery: `order.place` (its refusals are the
 * bulk of a spike) and `queue.join` (the whole crowd joins in the seconds before the start).
 * Each takes the same steps as its procedure (trpc/routers/order.ts, queue.ts) — input judged,
 * then the session, then the service — and gives the same answer, but with no per-request
 * context, middleware chain or child logger, and a refusal whose answer depends only on its
 * reason (NOT_ADMITTED, SOLD_OUT, SALE_PAUSED, …) is written from a prebuilt body. Whatever the
 * procedure would answer before the service (VALIDATION, NO_SESSION) is declined, untouched, to
 * the procedure itself; so is everything while debug logging is on (the procedures log then).
 */
export function directProcedures(server: Server): Record<string, DirectProcedure> {
  const { intake, room } = server.domain;
  return {
    'order.place': lean(server, orderPlaceInput, (input, userId, correlationId, req) =>
      intake.place({ ...input, userId, correlationId, ip: server.clientIp(req) }),
    ),
    'queue.join': lean(server, queueRefInput, (input, userId) => room.join(input.saleId, userId)),
  };
}

function lean<S extends z.ZodType>(
  server: Server,
  schema: S,
  run: (input: z.output<S>, userId: string, correlationId: string, req: IncomingMessage) => Promise<unknown>,
): DirectProcedure {
  const { sessions } = server.domain;
  return async (req: IncomingMessage, _res: ServerResponse, raw: unknown) => {
    if (server.log.isLevelEnabled('debug')) return DECLINE;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) return DECLINE;
    const userId = sessions.guestUserId(req);
    if (!userId) return DECLINE;
    // As the context does: the server's own correlation id, on the answer (and the order).
    const correlationId = randomUUID();
    try {
      return { data: await run(parsed.data, userId, correlationId, req), correlationId };
    } catch (err) {
      const plain = isAppError(err) && err.status < 500 && Object.keys(err.extra).length === 0;
      if (plain) return { fail: () => toTRPCError(err), cacheKey: err.reason, correlationId };
      return {
        fail: () => toTRPCError(err),
        ctx: { log: server.log.child({ correlationId }) },
        correlationId,
      };
    }
  };
}
