import type { RedisConnection as Redis } from '../lib/redis.js';
import { webhookKeys } from './subscription-store.js';

/** One attempt to deliver one event, as GET /api/webhooks/{id}/deliveries shows it. */
export interface DeliveryAttempt {
  eventId: string;
  type: string;
  /** 1 for the first request of this delivery, then one more per retry. */
  attempt: number;
  at: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** delivered; retrying (it will be sent again); failed (kept as failed, replay to send it again). */
  result: 'delivered' | 'retrying' | 'failed';
  /** When it is sent again, for `retrying`. */
  nextAttemptAt: string | null;
}

/** The attempts kept per subscription, newest first. */
const KEPT = 1_000;

export function createDeliveryLog(redis: Redis, prefix: string) {
  const keys = webhookKeys(prefix);
  return {
    async add(subscriptionId: string, attempt: DeliveryAttempt): Promise<void> {
      await redis.multi().lpush(keys.deliveries(subscriptionId), JSON.stringify(attempt)).ltrim(keys.deliveries(subscriptionId), 0, KEPT - 1).exec();
    },
    async list(subscriptionId: string, filter: { eventId?: string; result?: DeliveryAttempt['result']; limit: number }): Promise<DeliveryAttempt[]> {
      const all = (await redis.lrange(keys.deliveries(subscriptionId), 0, KEPT - 1)).map((text) => JSON.parse(text) as DeliveryAttempt);
      return all.filter((each) => (!filter.eventId || each.eventId === filter.eventId) && (!filter.result || each.result === filter.result)).slice(0, filter.limit);
    },
  };
}

export type DeliveryLog = ReturnType<typeof createDeliveryLog>;
