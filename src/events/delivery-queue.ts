import { Queue } from 'bullmq';
import type { RedisConnection as Redis } from '../lib/redis.js';
import { deliveryJobOptions, deliveryQueueName, type DeliveryJobData } from '../jobs/webhook-jobs.js';

/** The delivery queues of one process, opened as needed. */
export function createDeliveryQueues(redis: Redis, prefix: string, retentionMs: number) {
  const queues = new Map<string, Queue<DeliveryJobData>>();
  const options = deliveryJobOptions(retentionMs);
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
