import {
  adminLoginInput,
  createSaleInput,
  dlqIdsInput,
  emptyInput,
  flushCacheInput,
  restockInput,
  saleRefInput,
  setAdmissionInput,
} from '@surge/contracts';
import { appError } from '../../errors.ts';
import { adminProcedure, publicProcedure, router } from '../trpc.ts';

export const adminRouter = router({
  login: publicProcedure.input(adminLoginInput).mutation(async ({ ctx, input }) => {
    const { limits, sessions, audit, loginGuard } = ctx.services;
    // README.md#security: the password first — the throttles delay and refuse wrong passwords only, so a
    // correct one is never refused (failing on purpose cannot lock the admin out mid-sale).
    if (!sessions.checkPassword(input.password)) {
      await limits.consume('admin-login', ctx.ip);
      await loginGuard.failed();
      await audit.record({
        action: 'admin.login',
        input,
        ok: false,
        result: { reason: 'BAD_CREDENTIALS' },
        sessionId: null,
        ip: ctx.ip,
      });
      throw appError('BAD_CREDENTIALS');
    }
    const sessionId = await sessions.startAdmin(ctx.res, { ip: ctx.ip });
    await audit.record({ action: 'admin.login', input, ok: true, result: null, sessionId, ip: ctx.ip });
    return { ok: true as const };
  }),
  logout: publicProcedure.input(emptyInput).mutation(async ({ ctx }) => {
    const sessionId = await ctx.services.sessions.adminSessionId(ctx.req).catch(() => null);
    await ctx.services.sessions.endAdmin(ctx.req, ctx.res);
    if (sessionId) {
      await ctx.services.audit.record({
        action: 'admin.logout',
        input: {},
        ok: true,
        result: null,
        sessionId,
        ip: ctx.ip,
      });
    }
    return { ok: true as const };
  }),
  createSale: adminProcedure
    .input(createSaleInput)
    .mutation(({ ctx, input }) => ctx.services.sales.create(input)),
  pauseSale: adminProcedure
    .input(saleRefInput)
    .mutation(({ ctx, input }) => ctx.services.sales.pause(input.saleId)),
  resumeSale: adminProcedure
    .input(saleRefInput)
    .mutation(({ ctx, input }) => ctx.services.sales.resume(input.saleId)),
  restock: adminProcedure
    .input(restockInput)
    .mutation(({ ctx, input }) => ctx.services.sales.restock(input.saleId, input.quantity)),
  setAdmission: adminProcedure
    .input(setAdmissionInput)
    .mutation(({ ctx, input }) => ctx.services.sales.setAdmission(input.saleId, input.admitPerSecond)),
  dlq: router({
    list: adminProcedure.query(({ ctx }) => ctx.services.deadLetters.list()),
    replay: adminProcedure
      .input(dlqIdsInput)
      .mutation(({ ctx, input }) => ctx.services.deadLetters.replay(input.ids)),
    discard: adminProcedure
      .input(dlqIdsInput)
      .mutation(({ ctx, input }) => ctx.services.deadLetters.discard(input.ids)),
  }),
  flushCache: adminProcedure
    .input(flushCacheInput)
    .mutation(({ ctx, input }) => ctx.services.cache.flush(input?.saleId)),
});
