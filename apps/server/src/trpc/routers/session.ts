import { emptyInput } from '@surge/contracts';
import { publicProcedure, router } from '../trpc.ts';

export const sessionRouter = router({
  start: publicProcedure.input(emptyInput).mutation(async ({ ctx }) => {
    await ctx.services.limits.consume('session-ip', ctx.ip);
    return { userId: ctx.services.sessions.startGuest(ctx.req, ctx.res) };
  }),
});
