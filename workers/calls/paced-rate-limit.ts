import type { RateLimiterOptions } from 'bullmq';

/**
 * BullMQ's limiter counts jobs in fixed windows, so `max` jobs may start at the end of one window
 * and `max` more at the start of the next: twice the limit inside one rolling window. Allowing one
 * job per `window / max` ms spaces the calls evenly and keeps every rolling window within `max`.
 */
export function pacedRateLimit(max: number, windowMs: number): RateLimiterOptions {
  return { max: 1, duration: Math.ceil(windowMs / max) };
}
