import type { JobsOptions } from 'bullmq';
import type { WebhookEvent } from '../events/event-types.js';

/** One event on its way to one subscription. */
export interface DeliveryJobData {
  event: WebhookEvent;
  /** The line it keeps its place in (see RecordedEvent); absent: no order to keep. */
  lane?: string;
}

/** Each subscription has a queue of its own, so a slow or dead receiver holds up nobody else. */
export const deliveryQueueName = (subscriptionId: string) => `webhook-${subscriptionId}`;

/** The backoff strategy delivery workers name: waits from EVENTS_RETRY_BASE_MS, or a receiver's Retry-After. */
export const DELIVERY_BACKOFF = 'webhook';

/** Retries are bounded by time (EVENTS_RETRY_FOR_MS), not by count: the count only stops a runaway. Failed ones are kept for the retention. */
export const deliveryJobOptions = (retentionMs: number): JobsOptions => ({
  attempts: 10_000,
  backoff: { type: DELIVERY_BACKOFF },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: Math.ceil(retentionMs / 1000) },
});
