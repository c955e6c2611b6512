import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { DeliveryLanes } from '../../src/events/delivery-lanes.js';
import type { DeliveryAttempt, DeliveryLog } from '../../src/events/delivery-log.js';
import type { DeliveryQueues } from '../../src/events/delivery-queue.js';
import { deliverEvent, isDelivered, mayPass, type DeliveryOptions, type DeliveryResult } from '../../src/events/event-delivery.js';
import type { EventRecorder } from '../../src/events/event-recorder.js';
import type { Subscription, SubscriptionStore } from '../../src/events/subscription-store.js';
import type { DeliveryJobData } from '../../src/jobs/webhook-jobs.js';
import type { Logger } from '../../src/logger.js';
import type { processMetrics } from '../../src/metrics.js';

/** A delivery waiting behind an earlier one of its lane looks again after this, if nothing woke it first. */
const PARKED_MS = 30_000;

/** A delivery of a disabled subscription looks again after this. */
const DISABLED_RECHECK_MS = 60_000;

/** A failed request that may pass: sent again after `delayMs` (the worker's backoff strategy reads it). */
export class RetryLater extends Error {
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

export interface DeliveryDeps {
  /** The subscriptions as this process knows them (disabled here at once on a 410 or a too-long failure). */
  subscriptions: Map<string, Subscription>;
  store: Pick<SubscriptionStore, 'disable' | 'failed' | 'succeeded'>;
  queues: Pick<DeliveryQueues, 'queue' | 'add'>;
  lanes: DeliveryLanes;
  deliveries: Pick<DeliveryLog, 'add'>;
  recorder: Pick<EventRecorder, 'get'>;
  request: DeliveryOptions;
  retry: { baseMs: number; maxMs: number; forMs: number; disableAfterMs: number };
  metrics: Pick<ReturnType<typeof processMetrics>, 'webhookDeliveries' | 'webhookLatency'>;
  logger: Logger;
}

/**
 * Delivers one event to one subscription, the first of its lane only: signed, once per attempt,
 * each attempt in the deliveries log. Delivered: it leaves its lane and wakes the next. A failure
 * that may pass is retried (RetryLater) until EVENTS_RETRY_FOR_MS; any other is kept as failed.
 */
export function createDeliveryProcessor(subscriptionId: string, deps: DeliveryDeps) {
  const { subscriptions, store, queues, lanes, deliveries, recorder, retry, metrics, logger } = deps;
  const failing = { known: false };

  const wake = async (jobId: string | undefined) => {
    if (!jobId) return;
    const next = await queues.queue(subscriptionId).getJob(jobId);
    if (next && (await next.isDelayed())) await next.promote().catch(() => undefined);
  };

  /** The front of a lane whose delivery is over or gone leaves it; one whose job was never added is added now. */
  const unblock = async (lane: string, front: string) => {
    const job = await queues.queue(subscriptionId).getJob(front);
    const state = job ? await job.getState() : 'missing';
    if (state === 'missing') {
      const kept = await recorder.get(front.split('~')[0]!);
      if (kept) return queues.add(subscriptionId, [{ jobId: front, data: { event: kept.event, lane } }]);
    }
    if (state === 'missing' || state === 'completed' || state === 'failed') await wake(await lanes.leave(subscriptionId, lane, front));
  };

  const finish = async (job: Job<DeliveryJobData>) => {
    if (job.data.lane) await wake(await lanes.leave(subscriptionId, job.data.lane, job.id!));
  };

  const note = async (job: Job<DeliveryJobData>, result: DeliveryResult, outcome: DeliveryAttempt['result'], nextAttemptAt: number | null, at = Date.now()) => {
    metrics.webhookDeliveries.inc({ result: outcome });
    if (result.statusCode !== null) metrics.webhookLatency.observe(result.latencyMs / 1000);
    await deliveries.add(subscriptionId, {
      eventId: job.data.event.id,
      type: job.data.event.type,
      attempt: job.attemptsMade + 1,
      at: new Date(at).toISOString(),
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.error,
      result: outcome,
      nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
    });
  };

  const disable = async (subscription: Subscription, reason: string) => {
    // Stops this process's next deliveries at once, before the announcement comes back.
    subscriptions.set(subscription.id, { ...subscription, enabled: false });
    logger.warn({ subscriptionId: subscription.id, url: subscription.url, reason }, 'webhook subscription disabled');
    await store.disable(subscription.id, reason);
  };

  const failed = async (subscription: Subscription, result: DeliveryResult) => {
    failing.known = true;
    if (result.statusCode === 410) return disable(subscription, `the receiver answered 410 Gone (${new Date().toISOString()})`);
    const since = await store.failed(subscription.id, result.error ?? 'failed');
    if (Date.now() - since >= retry.disableAfterMs) await disable(subscription, `every delivery failed since ${new Date(since).toISOString()}; last: ${result.error}`);
  };

  return async (job: Job<DeliveryJobData>, token?: string) => {
    const subscription = subscriptions.get(subscriptionId);
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
        await unblock(lane, front);
        await job.moveToDelayed(Date.now() + PARKED_MS, token);
        // The front may have left before this delivery was delayed, too soon to wake it: it wakes itself.
        if ((await lanes.head(subscriptionId, lane)) === job.id) await job.promote().catch(() => undefined);
        throw new DelayedError();
      }
    }
    const result = await deliverEvent(event, { url: subscription.url, secrets: secretsOf(subscription, Date.now()) }, deps.request);
    if (isDelivered(result)) {
      await note(job, result, 'delivered', null);
      if (failing.known || job.attemptsMade > 0) await store.succeeded(subscriptionId);
      failing.known = false;
      await finish(job);
      return result.statusCode;
    }
    await failed(subscription, result);
    const delayMs = Math.max(result.retryAfterMs ?? 0, retryDelay(job.attemptsMade + 1, retry.baseMs, retry.maxMs));
    // The attempt and the next one are noted from one instant: the wait between them is the delay itself.
    const at = Date.now();
    const nextAt = at + delayMs;
    if (mayPass(result) && nextAt - job.timestamp <= retry.forMs) {
      await note(job, result, 'retrying', nextAt, at);
      throw new RetryLater(result.error ?? 'failed', delayMs);
    }
    await note(job, result, 'failed', null);
    await finish(job);
    throw new UnrecoverableError(result.error ?? 'failed');
  };
}
