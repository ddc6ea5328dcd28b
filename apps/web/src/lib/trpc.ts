import type { AppRouter } from '@surge/server/router';
import { QueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpLink, httpSubscriptionLink, type Operation, splitLink } from '@trpc/client';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';

/**
 * Same origin, so the cookies go along (fetch's default `same-origin`), no transformer
 * (docs/architecture.md#the-http-edge). Subscriptions ride the browser's EventSource; everything
 * else is one plain HTTP request per call — never a batch: the server caps batches, and one slow
 * call would hold up the others.
 */
const url = '/trpc';
const isSubscription = (op: Operation) => op.type === 'subscription';

export const trpcClient = createTRPCClient<AppRouter>({
  links: [
    splitLink({ condition: isSubscription, true: httpSubscriptionLink({ url }), false: httpLink({ url }) }),
  ],
});

export const queryClient = new QueryClient({
  defaultOptions: {
    // Live data is pushed over SSE; queries are refreshed when a push says so, never on a timer.
    queries: { retry: false, refetchOnWindowFocus: false, staleTime: 5_000 },
    mutations: { retry: false },
  },
});

export const trpc = createTRPCOptionsProxy<AppRouter>({ client: trpcClient, queryClient });
