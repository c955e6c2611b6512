import type { RateLimiterOptions } from 'bullmq';

/**
 * Part of each window kept free (1%, at least 25 ms), so that the milliseconds between a job
 * starting and its request reaching the carrier cannot push one call too many into a window the
 * carrier measures. At high rates it costs nothing: the interval is rounded up to a whole ms anyway.
 */
const slackMs = (windowMs: number) => Math.max(windowMs * 0.01, 25);

/**
 * BullMQ's limiter counts jobs in fixed windows, so `max` jobs may start at the end of one window
 * and `max` more at the start of the next: twice the limit inside one rolling window. Allowing one
 * job per `window / max` ms spaces the calls evenly and keeps every rolling window within `max`.
 */
export function pacedRateLimit(max: number, windowMs: number): RateLimiterOptions {
  return { max: 1, duration: Math.ceil((windowMs + slackMs(windowMs)) / max) };
}
