import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Config } from '../../src/config.js';
import { createDeliveryLanes } from '../../src/events/delivery-lanes.js';
import { createDeliveryLog, type DeliveryAttempt } from '../../src/events/delivery-log.js';
import { createDeliveryQueues, deliveryQueueName, type DeliveryJobData } from '../../src/events/delivery-queue.js';
import { checkDestination } from '../../src/events/destination-guard.js';
import { deliverEvent, isDelivered, mayPass, type DeliveryResult } from '../../src/events/event-delivery.js';
import { createEventRecorder } from '../../src/events/event-recorder.js';
import { createSubscriptionCache } from '../../src/events/subscription-cache.js';
import { createSubscriptionStore, type Subscription } from '../../src/events/subscription-store.js';
import { createRedis } from '../../src/lib/redis.js';
import type { Running } from '../../src/lib/run-process.js';
import type { Logger } from '../../src/logger.js';
import { processMetrics } from '../../src/metrics.js';

/** A delivery waiting behind an earlier one of its lane looks again after this, if nothing woke it first. */
const PARKED_MS = 30_000;

/** A delivery of a disabled subscription looks again after this. */
const DISABLED_RECHECK_MS = 60_000;

/** A failed request that may pass: sent again after `delayMs`. */
class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** From EVENTS_RETRY_BASE_MS, doubling up to EVENTS_RETRY_MAX_MS, each wait drawn between half and all of it. */
export const retryDelay = (attempt: number, baseMs: number, maxMs: number, random = Math.random) => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
};

const secretsOf = (subscription: Subscription, now: number) =>
  subscription.previousSecret && subscription.previousSecretUntil && Date.parse(subscription.previousSecretUntil) > now
    ? [subscription.secret, subscription.previousSecret]
    : [subscription.secret];

/**
 * Delivers events to every enabled subscription, each from a queue and a BullMQ worker of its own:
 * a receiver that is slow or down fills only its own queue. Within a lane (one call, one campaign)
 * only the first undelivered event is sent; the rest wait their turn.
 */
export async function startEventDeliveryWorker(config: Readonly<Config>, logger: Logger): Promise<Running> {
  const log = logger.child({ component: 'webhooks' });
  const prefix = config.QUEUE_PREFIX;
  const connection = createRedis(config.redis, 'consumer', 'webhooks');
  const store = createSubscriptionStore(connection, prefix);
  await store.syncEnv(config.EVENTS_WEBHOOK_URL, config.EVENTS_WEBHOOK_SECRET);
  if (config.EVENTS_WEBHOOK_URL) {
    await checkDestination(config.EVENTS_WEBHOOK_URL, config.eventsAllowPrivate).catch((error: Error) =>
      log.error({ url: config.EVENTS_WEBHOOK_URL }, `EVENTS_WEBHOOK_URL will get no event: ${error.message}`),
    );
  }
  const subscriptions = createSubscriptionCache(store, () => createRedis(config.redis, 'consumer', 'webhook-changes'), log);
  const queues = createDeliveryQueues(connection, prefix, config.EVENTS_RETENTION_MS);
  const recorder = createEventRecorder({ redis: connection, prefix, subscriptions, queues, retentionMs: config.EVENTS_RETENTION_MS });
  const lanes = createDeliveryLanes(connection, prefix);
  const deliveries = createDeliveryLog(connection, prefix);
  const metrics = processMetrics();
  const current = new Map<string, Subscription>();
  const workers = new Map<string, Worker<DeliveryJobData>>();
  const options = { timeoutMs: config.EVENTS_DELIVERY_TIMEOUT_MS, allowPrivate: config.eventsAllowPrivate };

  const wake = async (subscriptionId: string, jobId: string | undefined) => {
    if (!jobId) return;
    const next = await queues.queue(subscriptionId).getJob(jobId);
    if (next && (await next.isDelayed())) await next.promote().catch(() => undefined);
  };

  /** The front of a lane whose delivery is over or gone leaves it; one whose job was never added is added now. */
  const unblock = async (subscriptionId: string, lane: string, front: string) => {
    const job = await queues.queue(subscriptionId).getJob(front);
    const state = job ? await job.getState() : 'missing';
    if (state === 'missing') {
      const event = await recorder.get(front.split('~')[0]!);
      if (event) return queues.add(subscriptionId, [{ jobId: front, data: { event: event.event, lane } }]);
    }
    if (state === 'missing' || state === 'completed' || state === 'failed') await wake(subscriptionId, await lanes.leave(subscriptionId, lane, front));
  };

  const finish = async (subscriptionId: string, job: Job<DeliveryJobData>) => {
    if (job.data.lane) await wake(subscriptionId, await lanes.leave(subscriptionId, job.data.lane, job.id!));
  };

  const noteAttempt = async (subscriptionId: string, job: Job<DeliveryJobData>, result: DeliveryResult, outcome: DeliveryAttempt['result'], nextAttemptAt: number | null) => {
    metrics.webhookDeliveries.inc({ result: outcome });
    if (result.statusCode !== null) metrics.webhookLatency.observe(result.latencyMs / 1000);
    await deliveries.add(subscriptionId, {
      eventId: job.data.event.id,
      type: job.data.event.type,
      attempt: job.attemptsMade + 1,
      at: new Date().toISOString(),
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.error,
      result: outcome,
      nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
    });
  };

  const failing = new Set<string>();
  const failed = async (subscription: Subscription, result: DeliveryResult) => {
    failing.add(subscription.id);
    if (result.statusCode === 410) {
      // Stops this process's next deliveries at once, before the announcement comes back.
      current.set(subscription.id, { ...subscription, enabled: false });
      log.warn({ subscriptionId: subscription.id, url: subscription.url }, 'receiver answered 410 Gone: subscription disabled');
      return store.disable(subscription.id, `the receiver answered 410 Gone (${new Date().toISOString()})`);
    }
    const since = await store.failed(subscription.id, result.error ?? 'failed');
    if (Date.now() - since >= config.EVENTS_DISABLE_AFTER_MS) {
      current.set(subscription.id, { ...subscription, enabled: false });
      log.warn({ subscriptionId: subscription.id, url: subscription.url, since: new Date(since).toISOString() }, 'every delivery has failed for too long: subscription disabled');
      await store.disable(subscription.id, `every delivery failed since ${new Date(since).toISOString()}; last: ${result.error}`);
    }
  };

  const deliver = (subscriptionId: string) => async (job: Job<DeliveryJobData>, token?: string) => {
    const subscription = current.get(subscriptionId);
    if (!subscription) return 'subscription removed';
    if (!subscription.enabled) {
      // Taken just before its subscription was disabled: it waits with the rest until enabled again.
      await job.moveToDelayed(Date.now() + DISABLED_RECHECK_MS, token);
      throw new DelayedError();
    }
    const { event, lane } = job.data;
    if (lane) {
      const front = await lanes.head(subscriptionId, lane);
      // One that already left its lane (its worker died between delivering and finishing) goes again at once.
      if (front !== undefined && front !== job.id && (await lanes.holds(subscriptionId, lane, job.id!))) {
        await unblock(subscriptionId, lane, front);
        await job.moveToDelayed(Date.now() + PARKED_MS, token);
        // The front may have left before this delivery was delayed, too soon to wake it: it wakes itself.
        if ((await lanes.head(subscriptionId, lane)) === job.id) await job.promote().catch(() => undefined);
        throw new DelayedError();
      }
    }
    const result = await deliverEvent(event, { url: subscription.url, secrets: secretsOf(subscription, Date.now()) }, options);
    if (isDelivered(result)) {
      await noteAttempt(subscriptionId, job, result, 'delivered', null);
      if (failing.delete(subscriptionId) || job.attemptsMade > 0) await store.succeeded(subscriptionId);
      await finish(subscriptionId, job);
      return result.statusCode;
    }
    await failed(subscription, result);
    const delayMs = Math.max(result.retryAfterMs ?? 0, retryDelay(job.attemptsMade + 1, config.EVENTS_RETRY_BASE_MS, config.EVENTS_RETRY_MAX_MS));
    const nextAt = Date.now() + delayMs;
    if (mayPass(result) && result.statusCode !== 410 && nextAt - job.timestamp <= config.EVENTS_RETRY_FOR_MS) {
      await noteAttempt(subscriptionId, job, result, 'retrying', nextAt);
      throw new RetryLater(result.error ?? 'failed', delayMs);
    }
    await noteAttempt(subscriptionId, job, result, 'failed', null);
    await finish(subscriptionId, job);
    throw new UnrecoverableError(result.error ?? 'failed');
  };

  const lockMs = Math.max(5_000, 3 * config.EVENTS_DELIVERY_TIMEOUT_MS);
  const startWorker = (subscriptionId: string) => {
    const worker = new Worker<DeliveryJobData>(deliveryQueueName(subscriptionId), deliver(subscriptionId), {
      connection,
      prefix,
      concurrency: config.EVENTS_DELIVERY_CONCURRENCY,
      // A delivery whose worker died is taken over after this: well past one request's timeout.
      lockDuration: lockMs,
      stalledInterval: lockMs / 2,
      // A delivery whose process died is sent again, however often: at least once.
      maxStalledCount: 1_000,
      settings: { backoffStrategy: (_attempts, _type, error) => (error instanceof RetryLater ? error.delayMs : config.EVENTS_RETRY_BASE_MS) },
    });
    worker.on('error', (error) => log.error({ err: error, subscriptionId }, 'webhook delivery worker error'));
    workers.set(subscriptionId, worker);
  };

  /** A worker per enabled subscription; a disabled or removed one's stops (its events wait in its queue). */
  const follow = (list: Subscription[]) => {
    current.clear();
    for (const subscription of list) current.set(subscription.id, subscription);
    for (const subscription of list) if (subscription.enabled && !workers.has(subscription.id)) startWorker(subscription.id);
    for (const [id, worker] of workers) {
      if (current.get(id)?.enabled) continue;
      workers.delete(id);
      void worker.close().catch((error) => log.warn({ err: error, subscriptionId: id }, 'webhook delivery worker did not close'));
    }
  };
  subscriptions.onChange(follow);
  await subscriptions.ready();
  follow(await subscriptions.all());
  log.info({ subscriptions: current.size, allowPrivate: options.allowPrivate }, 'webhook delivery started');

  return {
    async close() {
      await subscriptions.close();
      await Promise.all([...workers.values()].map((worker) => worker.close()));
      workers.clear();
      await queues.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
