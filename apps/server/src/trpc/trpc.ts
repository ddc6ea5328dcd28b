import { trpcCodeOf } from '@surge/contracts/errors';
import { initTRPC, TRPCError } from '@trpc/server';
import { isProductionProcess } from '../env.ts';
import { AppError, appError } from '../errors.ts';
import type { Context } from './context.ts';
import { formatError } from './error-formatter.ts';

const production = isProductionProcess();

/**
 * SSE: a ping keeps proxies from closing quiet streams; the client reconnects (with its last
 * event id) when it hears nothing for longer. live/sale-fanout.ts writes the same.
 */
export const SSE_OPTIONS = {
  ping: { enabled: true, intervalMs: 10_000 },
  client: { reconnectAfterInactivityMs: 25_000 },
};

const t = initTRPC.context<Context>().create({
  isDev: !production,
  sse: SSE_OPTIONS,
  errorFormatter: (opts) => formatError(opts, production),
});

/** A service's AppError as the tRPC error with the matching HTTP status (and code). */
export function toTRPCError(err: unknown): unknown {
  const cause = err instanceof TRPCError ? err.cause : err;
  if (cause instanceof AppError)
    return new TRPCError({ code: trpcCodeOf(cause.reason), message: cause.message, cause });
  return err;
}

const mapAppErrors = t.middleware(async function mapAppErrors({ next }) {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) throw toTRPCError(result.error);
  return result;
});

/** README.md#security: no read is free — every query and subscription counts against its IP group. */
const limitReads = t.middleware(async function limitReads({ ctx, type, next }) {
  if (type !== 'mutation') await ctx.services.limits.consume('read-ip', ctx.ip);
  return next();
});

export const router = t.router;
export const publicProcedure = t.procedure.use(mapAppErrors).use(limitReads);

/** Shoppers: a signed guest cookie from `session.start`, else 401 NO_SESSION. */
export const requireSession = t.middleware(async function requireSession({ ctx, next }) {
  const userId = ctx.services.sessions.guestUserId(ctx.req);
  if (!userId) throw appError('NO_SESSION');
  return next({ ctx: { userId } });
});

/** Admins: a live admin session (revocable, in Redis), else 401 NOT_ADMIN; every call audited. */
export const adminProcedure = publicProcedure.use(async function requireAdmin({
  ctx,
  next,
  path,
  getRawInput,
}) {
  const adminSessionId = await ctx.services.sessions.adminSessionId(ctx.req).catch(() => null);
  if (!adminSessionId) throw appError('NOT_ADMIN');
  const result = await next({ ctx: { adminSessionId } });
  if (path.startsWith('admin.') && !path.startsWith('admin.dlq.list')) {
    await ctx.services.audit.record({
      action: path,
      input: await getRawInput().catch(() => null),
      ok: result.ok,
      result: result.ok ? result.data : { reason: reasonOf(result.error) },
      sessionId: adminSessionId,
      ip: ctx.ip,
    });
  }
  return result;
});

export function reasonOf(err: TRPCError): string {
  return err.cause instanceof AppError ? err.cause.reason : err.code;
}
