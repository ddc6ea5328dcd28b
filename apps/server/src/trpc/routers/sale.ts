import { saleGetInput } from '@surge/contracts';
import { publicProcedure, router } from '../trpc.ts';

export const saleRouter = router({
  list: publicProcedure.query(({ ctx }) => ctx.services.sales.list()),
  get: publicProcedure.input(saleGetInput).query(({ ctx, input }) => ctx.services.sales.get(input.saleId)),
});
