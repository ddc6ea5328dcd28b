import { orderGetInput, orderMineInput, orderPlaceInput } from '@surge/contracts';
import { appError, isAppError } from '../../errors.ts';
import { publicProcedure, requireSession, router } from '../trpc.ts';

/**
 * Input is judged before the session (docs/architecture.md#judging-order-of-a-purchase: VALIDATION
 * 400 comes before NO_SESSION 401).
 */
export const orderRouter = router({
  place: publicProcedure
    .input(orderPlaceInput)
    .use(requireSession)
    .mutation(async ({ ctx, input }) => {
      try {
        const r = await ctx.services.intake.place({
          ...input,
          userId: ctx.userId,
          correlationId: ctx.correlationId,
          ip: ctx.ip,
        });
        ctx.log.debug({ orderId: r.orderId, saleId: input.saleId, replayed: r.replayed }, 'order accepted');
        return r;
      } catch (err) {
        ctx.log.debug(
          { saleId: input.saleId, reason: isAppError(err) ? err.reason : undefined },
          'order refused',
        );
        throw err;
      }
    }),
  // A shopper sees their own orders; an admin any order.
  get: publicProcedure.input(orderGetInput).query(async ({ ctx, input }) => {
    const admin = await ctx.services.sessions.adminSessionId(ctx.req).catch(() => null);
    if (admin) return ctx.services.orders.get(input.orderId, null);
    const userId = ctx.services.sessions.guestUserId(ctx.req);
    if (!userId) throw appError('NO_SESSION');
    return ctx.services.orders.get(input.orderId, userId);
  }),
  mine: publicProcedure
    .input(orderMineInput)
    .use(requireSession)
    .query(({ ctx, input }) => ctx.services.orders.mine(ctx.userId, input?.saleId)),
});
