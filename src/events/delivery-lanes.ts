import type { RedisConnection as Redis } from '../lib/redis.js';
import { webhookKeys } from './subscription-store.js';

/**
 * The lines deliveries wait in: a sorted set per subscription and lane, of delivery job ids by the
 * order their events were recorded. Only the first of a lane is sent; it leaves the lane when it
 * is delivered or kept as failed, and the next one is woken.
 */
export function createDeliveryLanes(redis: Redis, prefix: string) {
  const keys = webhookKeys(prefix);
  return {
    /** The delivery at the front of the lane, if any. */
    async head(subscriptionId: string, lane: string): Promise<string | undefined> {
      const [first] = await redis.zrange(keys.lane(subscriptionId, lane), '0', '0');
      return first;
    },
    /** Whether a delivery still holds a place in its lane (it leaves once delivered or kept as failed). */
    async holds(subscriptionId: string, lane: string, jobId: string): Promise<boolean> {
      return (await redis.zscore(keys.lane(subscriptionId, lane), jobId)) !== null;
    },
    /** Leaves the lane; answers the delivery now at its front. */
    async leave(subscriptionId: string, lane: string, jobId: string): Promise<string | undefined> {
      const [, [, front]] = (await redis.multi().zrem(keys.lane(subscriptionId, lane), jobId).zrange(keys.lane(subscriptionId, lane), '0', '0').exec()) as [unknown, [unknown, string[]]];
      return front[0];
    },
  };
}

export type DeliveryLanes = ReturnType<typeof createDeliveryLanes>;
