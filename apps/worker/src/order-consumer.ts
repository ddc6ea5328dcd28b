import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { type DeadLetterReason, natsNames, type OrderMessage } from '@surge/contracts';
import { isDatabaseUnavailable, type PrismaClient, type Sql } from '@surge/db';
import type { OrderScripts, SaleKeys } from '@surge/hot-state';
import {
  type EventFeed,
  ensureOrdersStream,
  isRedisUnavailable,
  type Logger,
  type NatsHandle,
  retryDeclaration,
} from '@surge/infra';
import { deadLetter } from './dead-letter.ts';
import type { WorkerEnv } from './env.ts';
import { MessageQueue } from './message-queue.ts';
import type { WorkerMetrics } from './metrics.ts';
import { type Delivery, readDelivery } from './order-message.ts';
import type { createPaymentSimulator } from './payment.ts';
import { type BatchDeps, processBatch } from './process-batch.ts';

export interface ConsumerDeps {
  env: WorkerEnv;
  log: Logger;
  prisma: PrismaClient;
  /** The per-batch statements' pool (createSqlPool). */
  sql: Sql;
  scripts: OrderScripts;
  nats: NatsHandle;
  metrics: WorkerMetrics;
  payment: ReturnType<typeof createPaymentSimulator>;
  keysOf(saleId: string): SaleKeys;
  /** Adds one unclassified failure of an order and returns how many it has had. */
  countFailure(saleId: string, orderId: string): Promise<number>;
  /** Raises a sale's rebuild flag (a batch found Redis behind PostgreSQL). */
  requestRebuild?(saleId: string): Promise<unknown>;
  events?: EventFeed;
}

const isInfrastructureDown = (err: unknown) => isDatabaseUnavailable(err) || isRedisUnavailable(err);
/**
 * How long one pull request lives (and, in nats.js, the wait before re-checking the consumer after a
 * failed check on reconnect; idle heartbeats every half of it). Short enough that a worker is back
 * within seconds of a NATS failover; an idle worker re-pulls once per period, which costs nothing.
 */
const PULL_EXPIRES_MS = 5_000;

/**
 * The order worker (docs/architecture.md#the-workers-batch): one durable pull consumer shared by
 * every worker process. Each batch: read → dead-letter poison → claim each record in Redis →
 * persist in one transaction → decide payments → move records to `done` (stock back for failed
 * ones) → ack (process-batch.ts). Every step is repeatable, so a redelivery after a crash at any
 * point repeats only what is missing. While PostgreSQL (or Redis) is down the batch waits and
 * nothing more is pulled; this class owns that loop, the keep-alives and the dead letters.
 */
export class OrderConsumer {
  private readonly queue: MessageQueue;
  private readonly batchDeps: BatchDeps;
  private messages: ConsumerMessages | null = null;
  private stopping = false;
  private loop: Promise<void> = Promise.resolve();
  private pump: Promise<void> = Promise.resolve();
  databaseUp = true;
  state: 'running' | 'waiting-for-database' | 'stopping' = 'running';
  processed = 0;
  /** The most batches this worker has had in flight at once. */
  peakInFlight = 0;
  /** Batches processed at once (WORKER_CONCURRENCY). */
  private readonly concurrency: number;
  /** Batches waiting out a PostgreSQL or Redis outage: while any does, no new batch starts. */
  private holding = 0;
  /** Resolves on stop(): a hold (an outage's backoff, a payment's latency) ends at once. */
  private readonly stopped: Promise<void>;
  private signalStop: () => void = () => undefined;

  constructor(private readonly d: ConsumerDeps) {
    this.concurrency = d.env.WORKER_CONCURRENCY;
    this.stopped = new Promise<void>((r) => {
      this.signalStop = r;
    });
    this.queue = new MessageQueue(d.env.WORKER_BATCH_SIZE * 2);
    this.batchDeps = {
      ...d,
      deadLetter: (delivery, reason) => this.deadLetter(delivery, reason),
      holdFor: (ms, held) => this.holdFor(ms, held),
      knownSales: new Set(),
    };
  }

  async start(): Promise<void> {
    await this.declareConsumer();
    this.pump = this.pumpForever().finally(() => this.queue.close());
    this.loop = this.run();
  }

  /**
   * Pulls until stop(). If the consumer or the stream disappears (a JetStream that lost its
   * store, a stream deleted by hand) the library ends the iteration (`abort_on_missing_resource`)
   * and the pump declares both again and resubscribes, instead of leaving a worker that looks
   * ready and consumes nothing.
   */
  private async pumpForever(): Promise<void> {
    const n = natsNames(this.d.env.SURGE_NAMESPACE);
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        if (attempt > 0) {
          await ensureOrdersStream(this.d.nats.jsm, {
            namespace: this.d.env.SURGE_NAMESPACE,
            maxBytes: this.d.env.STREAM_MAX_BYTES,
            replicas: this.d.env.STREAM_REPLICAS,
            log: this.d.log,
          });
          await this.declareConsumer();
        }
        const consumer = await this.d.nats.js.consumers.get(n.stream, n.consumer);
        const messages = await consumer.consume({
          max_messages: this.d.env.WORKER_BATCH_SIZE * 2,
          // After a reconnect the library checks the consumer (consumer info) and pulls again; if
          // that check fails — the consumer's leader is being elected after a NATS node died — it
          // waits `expires` before the next try. The default, 30 s, left workers idle for ~40 s
          // after a node restart in the cluster fault runs while orders waited in the stream.
          expires: PULL_EXPIRES_MS,
          abort_on_missing_resource: true,
        });
        this.messages = messages;
        if (this.stopping) messages.stop();
        for await (const m of messages) {
          attempt = 0;
          // After stop() the library still yields what it had buffered: hand each back at once
          // (nak) so another worker takes it now, not after the ack wait.
          if (this.stopping) m.nak();
          else await this.queue.push(m);
        }
        if (this.stopping) return;
        this.d.log.warn({ event: 'consumer.ended' }, 'the consumer stopped delivering; declaring it again');
      } catch (err) {
        if (this.stopping) return;
        this.d.log.error({ err }, 'consumer stream failed; declaring it again');
      }
      await sleep(Math.min(250 * 2 ** attempt, 5000));
    }
  }

  /** Create-or-verify, retried while the JetStream cluster settles (see ensureOrdersStream). */
  private async declareConsumer(): Promise<void> {
    const { jsm } = this.d.nats;
    const n = natsNames(this.d.env.SURGE_NAMESPACE);
    const config = {
      durable_name: n.consumer,
      filter_subject: n.subjectAll,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: this.d.env.WORKER_ACK_WAIT_MS * 1_000_000,
      // Never give up on an order: a work queue would strand it
      // (docs/architecture.md#the-publish-breaker-the-sweeper-and-redelivery).
      max_deliver: -1,
      max_ack_pending: 20_000,
    };
    // Workers starting together must neither crash nor fight over the consumer.
    await retryDeclaration(`consumer ${n.consumer}`, { log: this.d.log }, async () => {
      const current = await jsm.consumers.info(n.stream, n.consumer).catch((err: unknown) => {
        if ((err as Error).name === 'ConsumerNotFoundError') return null;
        throw err;
      });
      if (!current) return void (await jsm.consumers.add(n.stream, config));
      const c = current.config;
      if (
        c.ack_wait !== config.ack_wait ||
        c.max_ack_pending !== config.max_ack_pending ||
        c.max_deliver !== config.max_deliver
      ) {
        await jsm.consumers.update(n.stream, n.consumer, {
          ack_wait: config.ack_wait,
          max_ack_pending: config.max_ack_pending,
          max_deliver: config.max_deliver,
        });
      }
    });
  }

  /**
   * SIGTERM: stop pulling, finish (and ack) the batches in progress, hand every message not yet
   * started back to the stream (nak: redelivered at once, to another worker), then resolve.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.state = 'stopping';
    this.signalStop();
    // Wake the pump first (it may wait for room), then stop the pull.
    this.queue.close();
    this.messages?.stop();
    await this.pump;
    await this.loop;
    await this.d.nats.nc.flush().catch(() => undefined);
  }

  /**
   * Takes batches and runs up to WORKER_CONCURRENCY of them at once when a backlog waits: while
   * one batch waits on Redis or PostgreSQL the next one claims and persists. Two batches in
   * flight are exactly two workers' batches (every step is repeatable and checks the state it
   * expects), so a redelivered copy of an order in another batch is settled once. A new batch starts only when a slot is
   * free and no batch is holding for an outage (nothing more is taken while PostgreSQL or Redis is
   * down). On stop, what was not started is handed back and the batches in flight finish.
   */
  private async run(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const full = this.d.env.WORKER_BATCH_SIZE;
    for (;;) {
      // Another batch starts beside those in flight only when a full one is waiting (a backlog):
      // a worker that keeps up with the intake lets the messages gather while its batch runs, so
      // its batches stay large (a half-empty batch costs nearly as much as a full one).
      // Once the queue is closed (stop), what is left is taken at once and handed back.
      while (
        inFlight.size > 0 &&
        !this.queue.closed &&
        (inFlight.size >= this.concurrency || this.holding > 0 || this.queue.size < full)
      ) {
        const room = inFlight.size < this.concurrency && this.holding === 0;
        await Promise.race(room ? [...inFlight, this.queue.whenHolding(full)] : inFlight);
      }
      const batch = await this.queue.take(this.d.env.WORKER_BATCH_SIZE, this.d.env.WORKER_BATCH_LINGER_MS);
      if (batch.length === 0) break;
      if (this.stopping) {
        for (const m of batch) m.nak(); // not started: back to the stream at once
        continue;
      }
      const running: Promise<void> = this.runBatch(batch).finally(() => {
        inFlight.delete(running);
        this.d.metrics.batchesInFlight.set(inFlight.size);
      });
      inFlight.add(running);
      this.d.metrics.batchesInFlight.set(inFlight.size);
      this.peakInFlight = Math.max(this.peakInFlight, inFlight.size);
    }
    await Promise.all(inFlight);
  }

  private async runBatch(batch: JsMsg[]): Promise<void> {
    const end = this.d.metrics.batchSeconds.startTimer();
    this.d.metrics.batchSize.observe(batch.length);
    // The ack wait is short (a killed worker's messages come back within seconds), so a
    // batch legitimately held longer — a slow transaction, a payment — reports progress.
    const keepAlive = this.keepAlive(batch);
    try {
      await this.processWithRetry(batch);
    } catch (err) {
      // Never let one batch stop the worker: its messages come back after a short delay.
      this.d.log.error({ err }, 'batch failed unexpectedly; messages will be redelivered');
      for (const m of batch) m.nak(1000);
    } finally {
      clearInterval(keepAlive);
    }
    end();
  }

  private async processWithRetry(batch: JsMsg[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const settled = await processBatch(this.batchDeps, batch);
        this.processed += settled;
        this.setDatabaseUp(true);
        return;
      } catch (err) {
        if (isInfrastructureDown(err)) {
          // Not the messages' fault: hold them (deadline extended), back off, try again.
          this.setDatabaseUp(false);
          this.d.log.warn({ err, attempt }, 'PostgreSQL or Redis unavailable; holding the batch');
          if (this.stopping) {
            for (const m of batch) m.nak(); // handed back: another worker retries it at once
            return;
          }
          this.holding++;
          try {
            await this.holdFor(Math.min(200 * 2 ** attempt, 5000), batch);
          } finally {
            this.holding--;
          }
          continue;
        }
        if (batch.length > 1) {
          for (const m of batch) await this.processWithRetry([m]);
          return;
        }
        const [only] = batch;
        if (only) await this.onUnclassified(only, err);
        return;
      }
    }
  }

  private setDatabaseUp(up: boolean): void {
    if (up !== this.databaseUp) {
      void this.d.events?.emit(
        'health',
        up
          ? `worker ${this.d.env.workerId}: PostgreSQL/Redis back, resuming`
          : `worker ${this.d.env.workerId}: PostgreSQL/Redis unavailable, holding its batch`,
      );
    }
    this.databaseUp = up;
    this.state = this.stopping ? 'stopping' : up ? 'running' : 'waiting-for-database';
    this.d.metrics.databaseUp.set(up ? 1 : 0);
  }

  /** Every third of the ack wait: in-progress acks for the batch and the messages queued behind it. */
  private keepAlive(batch: JsMsg[]): NodeJS.Timeout {
    const timer = setInterval(() => this.touch(batch), this.keepAliveStep());
    timer.unref();
    return timer;
  }

  private keepAliveStep(): number {
    return Math.max(50, Math.floor(this.d.env.WORKER_ACK_WAIT_MS / 3));
  }

  private touch(batch: JsMsg[]): void {
    if (this.d.env.SURGE_FAULT_NO_WORKING) return;
    for (const m of batch) m.working();
    for (const m of this.queue.held()) m.working();
  }

  /** Waits while keeping the ack deadline of every held message alive. */
  private async holdFor(ms: number, batch: JsMsg[]): Promise<void> {
    const step = this.keepAliveStep();
    for (let left = ms; left > 0 && !this.stopping; left -= step) {
      this.touch(batch);
      await Promise.race([sleep(Math.min(step, left)), this.stopped]);
    }
  }

  /**
   * An error nobody classified. What counts towards the dead letter is how often processing
   * this order failed (kept in Redis, so every worker and a restarted one add to the same
   * count), never how often it was delivered: redeliveries after a worker crash or a stop are
   * normal and say nothing about the message.
   */
  private async onUnclassified(msg: JsMsg, err: unknown): Promise<void> {
    const d = readDelivery(msg);
    const failures =
      d.kind === 'order'
        ? await this.d.countFailure(d.order.saleId, d.order.orderId).catch(() => 0)
        : msg.info.deliveryCount;
    const dbHealthy = await this.d.prisma.$queryRaw`SELECT 1`.then(
      () => true,
      () => false,
    );
    this.d.log.warn(
      { err, failures, deliveries: msg.info.deliveryCount, seq: msg.seq },
      'order message failed',
    );
    const backoff = Math.min(100 * 2 ** failures, 10_000);
    if (dbHealthy && failures >= this.d.env.WORKER_MAX_ATTEMPTS) {
      try {
        await this.deadLetter(
          d,
          `UNCLASSIFIED after ${failures} failed attempts: ${String((err as Error)?.message ?? err)}`,
        );
      } catch (dlErr) {
        // Storing the dead letter failed too: leave the message for a later delivery.
        this.d.log.error({ err: dlErr, seq: msg.seq }, 'dead-lettering failed; will retry');
        msg.nak(backoff);
      }
      return;
    }
    msg.nak(backoff);
  }

  private deadLetter(d: Delivery, reason: DeadLetterReason): Promise<void> {
    return deadLetter(this.d, d, reason);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type { OrderMessage };
