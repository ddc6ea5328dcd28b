import { queueRefInput } from '@surge/contracts';
import { publicProcedure, requireSession, router } from '../trpc.ts';

/** docs/architecture.md#the-waiting-room, the waiting room of queued sales. Input is judged before the session. */
export const queueRouter = router({
  join: publicProcedure
    .input(queueRefInput)
    .use(requireSession)
    .mutation(({ ctx, input }) => ctx.services.room.join(input.saleId, ctx.userId)),
  get: publicProcedure
    .input(queueRefInput)
    .use(requireSession)
    .query(({ ctx, input }) => ctx.services.room.get(input.saleId, ctx.userId)),
});
