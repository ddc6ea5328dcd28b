import { emptyInput, sessionStartInput } from '@surge/contracts';
import { publicProcedure, router } from '../trpc.ts';

export const sessionRouter = router({
  /** A proof-of-work challenge (README.md#security), or null while POW_MAX_NUMBER=0. */
  challenge: publicProcedure.input(emptyInput).query(({ ctx }) => ctx.services.pow.challenge()),
  start: publicProcedure.input(sessionStartInput).mutation(async ({ ctx, input }) => {
    await ctx.services.limits.consume('session-ip', ctx.ip);
    // A valid guest cookie keeps its user; only a new identity costs work.
    if (!ctx.services.sessions.guestUserId(ctx.req)) await ctx.services.pow.accept(input?.pow);
    return { userId: ctx.services.sessions.startGuest(ctx.req, ctx.res) };
  }),
});
