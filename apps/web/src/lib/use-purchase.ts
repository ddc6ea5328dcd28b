import type { OrderStatus } from '@surge/contracts';
import { skipToken, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { type Failure, failureOf } from './errors.ts';
import {
  afterRejection,
  beginAttempt,
  FINAL_STATUSES,
  type PurchaseIntent,
  parseIntent,
  retryDelayMs,
  withOrder,
  withQuantity,
} from './purchase-intent.ts';
import { ensureSession } from './session.ts';
import { trpc, trpcClient } from './trpc.ts';

const STORAGE_KEY = 'surge-purchase-intent';

export interface TrackedOrder {
  orderId: string;
  status: OrderStatus;
  failureReason?: string;
  replayed?: boolean;
}

export type Phase = 'idle' | 'placing' | 'retrying';

function loadIntent(): PurchaseIntent | null {
  try {
    return parseIntent(sessionStorage.getItem(STORAGE_KEY));
  } catch {
    return null;
  }
}

function saveIntent(intent: PurchaseIntent | null): void {
  try {
    if (intent) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(intent));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage blocked: the intent lives as long as the page
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Buy flow: one idempotency key per purchase intent (see purchase-intent.ts), automatic
 * retries with that key after `retryAfterMs`, then the order followed over `live.order`.
 */
export function usePurchase(
  saleId: string | null,
  sessionReady: boolean,
  admissionToken: string | null = null,
) {
  const queryClient = useQueryClient();
  const intentRef = useRef<PurchaseIntent | null>(loadIntent());
  const busy = useRef(false); // synchronous guard: a double click never sends twice
  const alive = useRef(true);
  // A queued sale's admission token (docs/architecture.md#the-waiting-room): read at each attempt, so a retry uses the latest.
  const tokenRef = useRef(admissionToken);
  tokenRef.current = admissionToken;
  const [quantity, setQuantityState] = useState(() => intentRef.current?.quantity ?? 1);
  const [phase, setPhase] = useState<Phase>('idle');
  const [failure, setFailure] = useState<Failure | null>(null);
  const [order, setOrder] = useState<TrackedOrder | null>(null);

  const setIntent = useCallback((next: PurchaseIntent | null) => {
    intentRef.current = next;
    saveIntent(next);
  }, []);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  // After a reload mid-purchase: follow the intent's order again (its key stays reserved).
  useEffect(() => {
    const intent = intentRef.current;
    if (saleId && intent?.orderId && intent.saleId === saleId) {
      setOrder((o) => o ?? { orderId: intent.orderId ?? '', status: 'PENDING' });
    }
  }, [saleId]);

  const refreshMine = useCallback(
    () => queryClient.invalidateQueries({ queryKey: trpc.order.mine.queryKey() }),
    [queryClient],
  );

  const setQuantity = useCallback(
    (q: number) => {
      setQuantityState(q);
      setIntent(withQuantity(intentRef.current, q));
    },
    [setIntent],
  );

  const buy = useCallback(async () => {
    if (!saleId || busy.current) return;
    busy.current = true;
    setFailure(null);
    setPhase('placing');
    const intent = beginAttempt(intentRef.current, saleId, quantity);
    setIntent(intent);
    if (intent.orderId === null) setOrder(null); // a new intent: the last order is history
    let attempt = 0;
    let renewed = false;
    try {
      while (alive.current) {
        try {
          const r = await trpcClient.order.place.mutate({
            saleId,
            quantity: intent.quantity,
            idempotencyKey: intent.key,
            ...(tokenRef.current ? { admissionToken: tokenRef.current } : {}),
          });
          setIntent(withOrder(intentRef.current, r.orderId, r.status));
          setOrder({ orderId: r.orderId, status: r.status, replayed: r.replayed });
          setFailure(null);
          void refreshMine();
          return;
        } catch (err) {
          const f = failureOf(err);
          if (f.reason === 'NO_SESSION' && !renewed) {
            renewed = true; // the cookie expired or was lost: a new session, then once more
            await ensureSession(true).catch(() => undefined);
            continue;
          }
          const delay = retryDelayMs(f.reason, f.retryAfterMs, attempt);
          setFailure(f);
          if (delay === null) {
            setIntent(afterRejection(intentRef.current, f.reason));
            return;
          }
          attempt += 1;
          setPhase('retrying');
          await sleep(delay);
        }
      }
    } finally {
      busy.current = false;
      if (alive.current) setPhase('idle');
    }
  }, [saleId, quantity, setIntent, refreshMine]);

  const following = order && !FINAL_STATUSES.has(order.status) && sessionReady ? order.orderId : null;
  useSubscription(
    trpc.live.order.subscriptionOptions(following ? { orderId: following } : skipToken, {
      onData: ({ data }) => {
        setIntent(withOrder(intentRef.current, data.orderId, data.status));
        setOrder((o) => (o && o.orderId === data.orderId ? { ...o, ...data } : o));
        if (FINAL_STATUSES.has(data.status)) void refreshMine();
      },
      onError: (err) => {
        // The order is gone (another session, or expired): stop following it.
        if (failureOf(err).reason === 'ORDER_NOT_FOUND') {
          setIntent(null);
          setOrder(null);
        }
      },
    }),
  );

  return { quantity, setQuantity, buy, phase, failure, order };
}
