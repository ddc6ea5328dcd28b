import { adminRouter } from './routers/admin.ts';
import { liveRouter } from './routers/live.ts';
import { orderRouter } from './routers/order.ts';
import { queueRouter } from './routers/queue.ts';
import { saleRouter } from './routers/sale.ts';
import { sessionRouter } from './routers/session.ts';
import { router } from './trpc.ts';

export const appRouter = router({
  session: sessionRouter,
  sale: saleRouter,
  order: orderRouter,
  queue: queueRouter,
  admin: adminRouter,
  live: liveRouter,
});

export type AppRouter = typeof appRouter;
