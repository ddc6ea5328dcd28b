import { adminRouter } from './routers/admin.ts';
import { orderRouter } from './routers/order.ts';
import { saleRouter } from './routers/sale.ts';
import { sessionRouter } from './routers/session.ts';
import { router } from './trpc.ts';

export const appRouter = router({
  session: sessionRouter,
  sale: saleRouter,
  order: orderRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;
