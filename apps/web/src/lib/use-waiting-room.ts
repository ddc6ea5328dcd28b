import type { Sale, Ticket } from '@surge/contracts';
import { skipToken } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { type Failure, failureOf } from './errors.ts';
import { trpc, trpcClient } from './trpc.ts';

export interface WaitingRoom {
  /** false for a sale without a waiting room: the page behaves as it always did. */
  queued: boolean;
  ticket: Ticket | null;
  /** The place the shopper had when first seen waiting: the progress bar's 0 %. */
  firstPosition: number | null;
  failure: Failure | null;
  /** Join again (an expired ticket goes to the end of the line). */
  rejoin(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * docs/architecture.md#the-waiting-room on the shop page: a queued sale's waiting room. The page joins by itself (and again
 * whenever the server says NOT_IN_QUEUE — Redis lost the room), then follows its ticket over
 * `live.queue`, so it switches to Buy, or to sold out, without a click.
 */
export function useWaitingRoom(sale: Sale | null, sessionReady: boolean): WaitingRoom {
  const queued = sale?.queue != null;
  const saleId = queued ? (sale?.id ?? null) : null;
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [joined, setJoined] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const firstPosition = useRef<number | null>(null);

  useEffect(() => {
    if (!saleId || !sessionReady) return;
    let cancelled = false;
    void generation; // a rejoin runs this again
    (async () => {
      for (let attempt = 0; !cancelled; attempt++) {
        try {
          const t = await trpcClient.queue.join.mutate({ saleId });
          if (cancelled) return;
          if (t.state === 'waiting' || t.state === 'soldout') firstPosition.current ??= t.position;
          setTicket(t);
          setFailure(null);
          setJoined(saleId);
          return;
        } catch (err) {
          const f = failureOf(err);
          setFailure(f);
          await sleep(f.retryAfterMs ?? Math.min(5000, 500 * 2 ** attempt));
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [saleId, sessionReady, generation]);

  useSubscription(
    trpc.live.queue.subscriptionOptions(joined && joined === saleId ? { saleId: joined } : skipToken, {
      onData: ({ data }) => {
        if (data.state === 'waiting' || data.state === 'soldout') firstPosition.current ??= data.position;
        setTicket(data);
      },
      onError: (err) => {
        if (failureOf(err).reason === 'NOT_IN_QUEUE') {
          setJoined(null);
          setGeneration((g) => g + 1);
        }
      },
    }),
  );

  const rejoin = useCallback(() => {
    firstPosition.current = null;
    setJoined(null);
    setTicket(null);
    setGeneration((g) => g + 1);
  }, []);

  return { queued, ticket, firstPosition: firstPosition.current, failure, rejoin };
}
