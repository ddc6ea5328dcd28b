import type { HudEvent, HudFrame } from '@surge/contracts';
import { skipToken } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useState } from 'react';
import { failureOf } from './errors.ts';
import { trpc } from './trpc.ts';

export const FEED_LIMIT = 200;
export const SPARK_POINTS = 60;

export interface RatePoint {
  accepted: number;
  persisted: number;
}

/** One frame's `order.place` answers per second by kind. */
export type AnswerPoint = Record<string, number>;

export interface HudStream {
  frame: HudFrame | null;
  /** newest first, at most FEED_LIMIT, each event once (ids are Redis stream ids). */
  events: HudEvent[];
  history: RatePoint[];
  answers: AnswerPoint[];
  status: 'idle' | 'connecting' | 'pending' | 'error';
}

/** Merges a frame's events into the feed: newest first, no repeats after a reconnect. */
export function mergeEvents(feed: HudEvent[], fresh: HudEvent[]): HudEvent[] {
  if (fresh.length === 0) return feed;
  const seen = new Set(feed.map((e) => e.id));
  const added = fresh.filter((e) => !seen.has(e.id)).reverse();
  return [...added, ...feed].slice(0, FEED_LIMIT);
}

/**
 * The HUD's one SSE stream (`live.hud`). `onNotAdmin` fires when the server says the admin
 * session is missing or revoked; the page then shows the login form and stops the stream.
 */
export function useHudStream(enabled: boolean, onNotAdmin: () => void, onFrame: () => void): HudStream {
  const [frame, setFrame] = useState<HudFrame | null>(null);
  const [events, setEvents] = useState<HudEvent[]>([]);
  const [history, setHistory] = useState<RatePoint[]>([]);
  const [answers, setAnswers] = useState<AnswerPoint[]>([]);

  const sub = useSubscription(
    trpc.live.hud.subscriptionOptions(enabled ? undefined : skipToken, {
      onData: ({ data }) => {
        setFrame(data);
        setEvents((feed) => mergeEvents(feed, data.events));
        setHistory((h) =>
          [
            ...h,
            { accepted: data.throughput.acceptedPerSec, persisted: data.throughput.persistedPerSec },
          ].slice(-SPARK_POINTS),
        );
        setAnswers((a) => [...a, data.answers ?? {}].slice(-SPARK_POINTS));
        onFrame();
      },
      onError: (err) => {
        if (failureOf(err).reason === 'NOT_ADMIN') onNotAdmin();
      },
    }),
  );
  return { frame, events, history, answers, status: sub.status };
}
