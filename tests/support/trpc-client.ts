import type { AppRouter } from '@surge/server/router';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { TestClient } from './client.ts';

/**
 * The official tRPC client as a browser page uses it — httpLink for calls,
 * httpSubscriptionLink (SSE) for `live.*` — carrying a TestClient's cookies. Node has no
 * EventSource: the `eventsource` ponyfill, with a fetch that adds the cookie header.
 */
export function trpcClient(jar: TestClient) {
  const cookie = () => [...jar.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${jar.baseUrl}/trpc`,
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init?.headers, cookie: cookie() } }),
          }),
        }),
        false: httpLink({ url: `${jar.baseUrl}/trpc`, headers: () => ({ cookie: cookie() }) }),
      }),
    ],
  });
}

/** Collects a subscription's frames into an array until `stop()`. */
export function collect<T>(
  subscribe: (handlers: { onData: (d: T) => void; onError: (e: unknown) => void }) => {
    unsubscribe: () => void;
  },
) {
  const frames: T[] = [];
  const errors: unknown[] = [];
  const sub = subscribe({
    onData: (d) => frames.push(d),
    onError: (e) => errors.push(e),
  });
  return { frames, errors, stop: () => sub.unsubscribe() };
}
