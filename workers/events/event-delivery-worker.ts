import { Worker } from 'bullmq';
import type { Config } from '../../src/config.js';
import { createDeliveryLanes } from '../../src/events/delivery-lanes.js';
import { createDeliveryLog } from '../../src/events/delivery-log.js';
import { createDeliveryQueues } from '../../src/events/delivery-queue.js';
import { checkDestination } from '../../src/events/destination-guard.js';
import { createEventRecorder } from '../../src/events/event-recorder.js';
import { createSubscriptionCache } from '../../src/events/subscription-cache.js';
import { createSubscriptionStore, type Subscription } from '../../src/events/subscription-store.js';
import { deliveryQueueName, type DeliveryJobData } from '../../src/jobs/webhook-jobs.js';
import { createRedis } from '../../src/lib/redis.js';
import type { Running } from '../../src/lib/run-process.js';
import type { Logger } from '../../src/logger.js';
import { processMetrics } from '../../src/metrics.js';
import { createDeliveryProcessor, RetryLater, type DeliveryDeps } from './event-delivery.processor.js';

/**
 * Delivers events to every enabled subscription, each from a queue and a BullMQ worker of its own:
 * a receiver that is slow or down fills only its own queue. A worker starts when its subscription
 * is enabled and stops when it is disabled or removed (its events wait in its queue).
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
  const current = new Map<string, Subscription>();
  const deps: DeliveryDeps = {
    subscriptions: current,
    store,
    queues,
    lanes: createDeliveryLanes(connection, prefix),
    deliveries: createDeliveryLog(connection, prefix),
    recorder: createEventRecorder({ redis: connection, prefix, subscriptions, queues, retentionMs: config.EVENTS_RETENTION_MS }),
    request: { timeoutMs: config.EVENTS_DELIVERY_TIMEOUT_MS, allowPrivate: config.eventsAllowPrivate },
    retry: { baseMs: config.EVENTS_RETRY_BASE_MS, maxMs: config.EVENTS_RETRY_MAX_MS, forMs: config.EVENTS_RETRY_FOR_MS, disableAfterMs: config.EVENTS_DISABLE_AFTER_MS },
    metrics: processMetrics(),
    logger: log,
  };
  // A delivery whose worker died is taken over after this: well past one request's timeout.
  const lockMs = Math.max(5_000, 3 * config.EVENTS_DELIVERY_TIMEOUT_MS);
  const workers = new Map<string, Worker<DeliveryJobData>>();

  const startWorker = (subscriptionId: string) => {
    const worker = new Worker<DeliveryJobData>(deliveryQueueName(subscriptionId), createDeliveryProcessor(subscriptionId, deps), {
      connection,
      prefix,
      concurrency: config.EVENTS_DELIVERY_CONCURRENCY,
      lockDuration: lockMs,
      stalledInterval: lockMs / 2,
      // A delivery whose process died is sent again, however often: at least once.
      maxStalledCount: 1_000,
      settings: { backoffStrategy: (_attempts, _type, error) => (error instanceof RetryLater ? error.delayMs : config.EVENTS_RETRY_BASE_MS) },
    });
    worker.on('error', (error) => log.error({ err: error, subscriptionId }, 'webhook delivery worker error'));
    workers.set(subscriptionId, worker);
  };

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
  log.info({ subscriptions: current.size, allowPrivate: config.eventsAllowPrivate }, 'webhook delivery started');

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
