import type { Sale } from '@surge/contracts';
import { skipToken, useQuery } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useState } from 'react';
import { type Failure, failureOf } from './errors.ts';
import { pickSale } from './sale-view.ts';
import { trpc } from './trpc.ts';

export interface ShopSale {
  sale: Sale | null;
  /** server clock − local clock, from the latest snapshot's `serverTime`. */
  offsetMs: number;
  loading: boolean;
  failure: Failure | null;
  /** true while the live stream is (re)connecting after having been up. */
  reconnecting: boolean;
}

/**
 * The shop's sale: `?sale=<id>`, else the first live one (then scheduled, then any), kept
 * current by the `live.sale` stream (one SSE connection).
 */
export function useShopSale(): ShopSale {
  const [requested] = useState(() => new URLSearchParams(location.search).get('sale'));
  const list = useQuery(trpc.sale.list.queryOptions(undefined, { enabled: !requested }));
  const single = useQuery(trpc.sale.get.queryOptions(requested ? { saleId: requested } : skipToken));
  const initial = requested ? (single.data ?? null) : pickSale(list.data ?? []);
  const saleId = requested ?? initial?.id ?? null;

  const [live, setLive] = useState<Sale | null>(null);
  const [offsetMs, setOffsetMs] = useState(0);

  useEffect(() => {
    if (initial) setOffsetMs(Date.parse(initial.serverTime) - Date.now());
  }, [initial]);

  const stream = useSubscription(
    trpc.live.sale.subscriptionOptions(saleId ? { saleId } : skipToken, {
      onData: ({ data }) => {
        setLive(data);
        setOffsetMs(Date.parse(data.serverTime) - Date.now());
      },
    }),
  );

  const sale = live && live.id === saleId ? live : initial;
  const queryError = requested ? single.error : list.error;
  const error = queryError ?? stream.error;
  return {
    sale,
    offsetMs,
    loading: requested ? single.isPending : list.isPending,
    failure: error ? failureOf(error) : null,
    reconnecting: stream.status === 'connecting' && live !== null,
  };
}
