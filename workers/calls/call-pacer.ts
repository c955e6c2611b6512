import { randomUUID } from 'node:crypto';
import type { RateLimiterOptions } from 'bullmq';
import type { RedisConnection as Redis } from '../../src/lib/redis.js';
import { redisScript } from '../../src/lib/redis.js';
import { waitUnlessAborted } from './abortable-wait.js';

/**
 * Part of each window kept free (1%, at least 10 ms), so that the milliseconds between a call's
 * turn and its request reaching the carrier, which vary from call to call, cannot push one call too
 * many into a window the carrier measures.
 */
const slackMs = (windowMs: number) => Math.max(windowMs * 0.01, 10);

/**
 * KEYS[1]: the last turn given, in ms on Redis's clock. ARGV[1]: the interval between turns, in ms.
 * Gives the caller the first turn at least one interval after the last; answers the turn and how long
 * to wait for it. Redis's clock, so that workers on machines whose clocks differ still agree.
 */
const NEXT_TURN = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local interval = tonumber(ARGV[1])
local turn = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0') + interval)
redis.call('SET', KEYS[1], string.format('%.3f', turn), 'PX', math.ceil(turn - now + interval) + 1000)
return { string.format('%.3f', turn), string.format('%.3f', turn - now) }
`;

/**
 * KEYS[1]: when recent dials were sent, in ms on Redis's clock. ARGV: window (ms), max, a unique
 * member. Claims the right to dial now if fewer than `max` dials were sent in the last window, and
 * answers 0; otherwise answers how long until the oldest of them leaves the window.
 */
const CLAIM_DIAL = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local window, max = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', now - window))
if redis.call('ZCARD', KEYS[1]) < max then
  redis.call('ZADD', KEYS[1], string.format('%.3f', now), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return string.format('%.3f', tonumber(oldest[2]) + window - now)
`;

export interface CallPacer {
  /** Keeps the worker from fetching calls much faster than they may be dialed. */
  fetchLimit: RateLimiterOptions;
  intervalMs: number;
  /** Takes the next turn: when it is (ms on Redis's clock), and how long from now. */
  takeTurn?: () => Promise<{ at: number; inMs: number }>;
  /** Waits for this call's turn to dial; false when `signal` ended the wait first. */
  waitForTurn?: (signal?: AbortSignal) => Promise<boolean>;
}

/** Fetch windows at least this long, so that BullMQ's few milliseconds at each window's end cost little. */
const MIN_FETCH_WINDOW_MS = 50;

/**
 * Paces dials evenly: each dial takes the next turn, `(window + slack) / max` ms after the last, on
 * one Redis key shared by every worker, and claims its place among the dials sent in the last
 * window just before it is sent, so no rolling window ever holds more than `max` dials.
 * BullMQ's limiter alone counts fixed windows: `max` calls may start at the end of one window and
 * `max` more at the start of the next, and its whole-millisecond windows lose up to 5% of the rate
 * to rounding at 50/s. It still limits fetching to a little faster than the turns, so that a job
 * (and a high-priority call behind it) waits for a turn or two, not for a queue of them. Above
 * 1,000 calls a second its 1-ms windows are pacing enough.
 */
export function createCallPacer(redis: Redis, key: string, max: number, windowMs: number): CallPacer {
  const intervalMs = (windowMs + slackMs(windowMs)) / max;
  if (intervalMs < 1) return { fetchLimit: { max: Math.floor(1 / intervalMs), duration: 1 }, intervalMs };
  const nextTurn = redisScript(redis, 'switchboardNextDialTurn', 1, NEXT_TURN);
  const claimDial = redisScript(redis, 'switchboardClaimDial', 1, CLAIM_DIAL);
  // On time, `max` + 1 turns span the window and its slack exactly; a dial held up (a pause of the
  // process) waits here rather than crowd the next ones into one window. The slack then covers the
  // way from here to the carrier.
  const claimWindowMs = windowMs + slackMs(windowMs);
  const takeTurn = async () => {
    const [at, inMs] = (await nextTurn(key, intervalMs)) as [string, string];
    return { at: Number(at), inMs: Number(inMs) };
  };
  // Slow rates: one fetch a window, 2 ms shorter than a turn, to make up for BullMQ's time at each
  // window's end. Fast ones: a few fetches a window, 5% more than the turns.
  const fetchLimit =
    intervalMs >= MIN_FETCH_WINDOW_MS
      ? { max: 1, duration: Math.floor(intervalMs) - 2 }
      : { max: Math.ceil((MIN_FETCH_WINDOW_MS * 1.05) / intervalMs), duration: MIN_FETCH_WINDOW_MS };
  return {
    fetchLimit,
    intervalMs,
    takeTurn,
    async waitForTurn(signal) {
      const { inMs } = await takeTurn();
      // Never early: a timer can fire a fraction of a millisecond before a fractional delay.
      if (inMs > 0 && !(await waitUnlessAborted(Math.ceil(inMs), signal))) return false;
      for (;;) {
        const heldMs = Number(await claimDial(`${key}:sent`, claimWindowMs, max, randomUUID()));
        if (heldMs <= 0) return true;
        if (!(await waitUnlessAborted(Math.ceil(heldMs), signal))) return false;
      }
    },
  };
}
