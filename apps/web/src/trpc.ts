import type { AppRouter } from '@surge/server/router';
import { createTRPCClient, httpLink } from '@trpc/client';

/** The page's tRPC client: same origin, cookies included, no transformer (SPEC §5). */
export const trpc = createTRPCClient<AppRouter>({
  links: [
    httpLink({ url: '/trpc', fetch: (url, init) => fetch(url, { ...init, credentials: 'same-origin' }) }),
  ],
});
