import { orderGetInput, orderMineInput, orderPlaceInput } from '@surge/contracts';
import { publicProcedure, requireSession, router } from '../trpc.ts';

/** Input is judged before the session (SPEC §5: VALIDATION 400 comes before NO_SESSION 401). */
export const orderRouter = router({
  place: publicProcedure
    .input(orderPlaceInput)
    .use(requireSession)
    .mutation(({ ctx, input }) =>
      ctx.services.placeOrder({ ...input, userId: ctx.userId, correlationId: ctx.correlationId, ip: ctx.ip }),
    ),
  get: publicProcedure
    .input(orderGetInput)
    .use(requireSession)
    .query(({ ctx, input }) => ctx.services.orders.get(input.orderId, ctx.userId)),
  mine: publicProcedure
    .input(orderMineInput)
    .use(requireSession)
    .query(({ ctx, input }) => ctx.services.orders.mine(ctx.userId, input?.saleId)),
});
