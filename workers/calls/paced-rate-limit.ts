import type { RateLimiterOptions } from 'bullmq';

/**
 * Part of each window kept free (1%, at least 10 ms), so that the milliseconds between a job
 * starting and its request reaching the carrier cannot push one call too many into a window the
 * carrier measures.
 */
const slackMs = (windowMs: number) => Math.max(windowMs * 0.01, 10);

/** How close to the padded rate the whole-millisecond windows must come. */
const ROUNDING_KEPT = 0.995;

/**
 * BullMQ's limiter counts jobs in fixed windows, so `max` jobs may start at the end of one window
 * and `max` more at the start of the next: twice the limit inside one rolling window. Short windows
 * of `burst` jobs each, `burst` a divisor of `max`, space the calls evenly and keep every rolling
 * window within `max`. Windows are whole milliseconds, so at high rates one call per window would
 * lose much to rounding: the smallest burst that keeps the rate within half a percent is used.
 */
export function pacedRateLimit(max: number, windowMs: number): RateLimiterOptions {
  const paddedWindowMs = windowMs + slackMs(windowMs);
  for (let burst = 1; burst < max; burst++) {
    if (max % burst !== 0) continue;
    const duration = Math.ceil((burst * paddedWindowMs) / max);
    if ((burst * paddedWindowMs) / (duration * max) >= ROUNDING_KEPT) return { max: burst, duration };
  }
  return { max, duration: Math.ceil(paddedWindowMs) };
}
