import { Queue, type JobsOptions } from 'bullmq';
import type { RedisConnection as Redis } from '../lib/redis.js';
import type { WebhookEvent } from './event-types.js';

/** One event on its way to one subscription. */
export interface DeliveryJobData {
  event: WebhookEvent;
  /** The line it keeps its place in (see RecordedEvent); absent: no order to keep. */
  lane?: string;
}

/** Each subscription has a queue of its own, so a slow or dead receiver holds up nobody else. */
export const deliveryQueueName = (subscriptionId: string) => `webhook-${subscriptionId}`;

/** Retries are bounded by time (EVENTS_RETRY_FOR_MS), not by count: the count only stops a runaway. */
export const DELIVERY_JOB_OPTIONS: JobsOptions = {
  attempts: 10_000,
  backoff: { type: 'webhook' },
  removeOnComplete: { age: 3600, count: 10_000 },
};

/** The delivery queues of one process, opened as needed. */
export function createDeliveryQueues(redis: Redis, prefix: string, retentionMs: number) {
  const queues = new Map<string, Queue<DeliveryJobData>>();
  const options: JobsOptions = { ...DELIVERY_JOB_OPTIONS, removeOnFail: { age: Math.ceil(retentionMs / 1000) } };
  const queue = (subscriptionId: string) => {
    let found = queues.get(subscriptionId);
    if (!found) {
      found = new Queue<DeliveryJobData>(deliveryQueueName(subscriptionId), { connection: redis, prefix });
      queues.set(subscriptionId, found);
    }
    return found;
  };
  return {
    queue,
    options,
    /** Adds deliveries under their job ids (an id already there is kept, not added twice). */
    async add(subscriptionId: string, deliveries: Array<{ jobId: string; data: DeliveryJobData }>) {
      if (deliveries.length === 0) return;
      await queue(subscriptionId).addBulk(deliveries.map(({ jobId, data }) => ({ name: data.event.type, data, opts: { ...options, jobId } })));
    },
    /** A deleted subscription's queue goes with it. */
    async drop(subscriptionId: string) {
      await queue(subscriptionId).obliterate({ force: true });
      await queues.get(subscriptionId)?.close();
      queues.delete(subscriptionId);
    },
    async close() {
      await Promise.all([...queues.values()].map((each) => each.close()));
      queues.clear();
    },
  };
}

export type DeliveryQueues = ReturnType<typeof createDeliveryQueues>;
