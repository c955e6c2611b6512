import type { RateLimiterOptions } from 'bullmq';

/**
 * Share of each window kept free, so that the few milliseconds between a job starting and its
 * request reaching the carrier cannot push one call too many into a window the carrier measures.
 */
const SLACK = 0.01;

/**
 * BullMQ's limiter counts jobs in fixed windows, so `max` jobs may start at the end of one window
 * and `max` more at the start of the next: twice the limit inside one rolling window. Allowing one
 * job per `window / max` ms spaces the calls evenly and keeps every rolling window within `max`.
 */
export function pacedRateLimit(max: number, windowMs: number): RateLimiterOptions {
  return { max: 1, duration: Math.ceil((windowMs * (1 + SLACK)) / max) };
}
