import { orderGetInput, orderMineInput, orderPlaceInput } from '@surge/contracts';
import { publicProcedure, requireSession, router } from '../trpc.ts';

/** Input is judged before the session (SPEC §5: VALIDATION 400 comes before NO_SESSION 401). */
export const orderRouter = router({
  place: publicProcedure
    .input(orderPlaceInput)
    .use(requireSession)
    .mutation(async ({ ctx, input }) => {
      try {
        const r = await ctx.services.placeOrder({
          ...input,
          userId: ctx.userId,
          correlationId: ctx.correlationId,
          ip: ctx.ip,
        });
        ctx.log.debug({ orderId: r.orderId, saleId: input.saleId, replayed: r.replayed }, 'order accepted');
        return r;
      } catch (err) {
        ctx.log.debug({ saleId: input.saleId, reason: (err as { reason?: string }).reason }, 'order refused');
        throw err;
      }
    }),
  get: publicProcedure
    .input(orderGetInput)
    .use(requireSession)
    .query(({ ctx, input }) => ctx.services.orders.get(input.orderId, ctx.userId)),
  mine: publicProcedure
    .input(orderMineInput)
    .use(requireSession)
    .query(({ ctx, input }) => ctx.services.orders.mine(ctx.userId, input?.saleId)),
});
