import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import type { RedisConnection } from '../lib/redis.js';
import { redisScript } from '../lib/redis.js';

/** What @fastify/rate-limit asks of a store: a request counted, and its number in the window. */
type Done = Parameters<FastifyRateLimitStore['incr']>[1];

/**
 * Takes `ARGV[2]` numbers of a fixed window's count at once. The window starts with its first
 * lease and ends with the key.
 */
const LEASE = `
local last = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {last, ttl}
`;

/** The most one process leases at once: a fiftieth of the limit, so a process can hold back little of it. */
const LEASE_SHARE = 50;
/** A lease covers about this much of a key's recent traffic in this process. */
const LEASE_HORIZON_MS = 100;
/** How long requests wait for a lease before they go on uncounted, as when Redis cannot count. */
const LEASE_WAIT_MS = 1_000;

interface Window {
  endsAt: number;
  /** The next number of the window this process may give, and the last one it leased. */
  next: number;
  last: number;
  /** Requests counted here in the current stretch of LEASE_HORIZON_MS, and in the one before it. */
  recent: { since: number; count: number; before: number };
  waiting: Array<{ done: Done }>;
  /** The lease on its way, if any (its identity tells a late answer from the current one's). */
  leasing?: object;
}

export interface LeasedCountOptions {
  redis: RedisConnection;
  /** Key prefix of the counters. */
  prefix: string;
  now?: () => number;
}

/**
 * A @fastify/rate-limit store that counts every process's requests of a key in one Redis counter a
 * fixed window long, as the plugin's own Redis store does, but takes a block of numbers at a time
 * rather than one round trip per request. A block is sized to this process's last 100 ms of the
 * key's traffic and at most a fiftieth of the limit: a quiet key still counts one request at a
 * time, exactly; a busy one costs Redis a write per block, and a process can hold unused at most a
 * fiftieth of the limit when the window ends. Once a key's window is used up every process answers
 * from what it learned, without Redis, until the window ends.
 */
export function leasedCountStore({ redis, prefix, now = Date.now }: LeasedCountOptions): FastifyRateLimitStore {
  const lease = redisScript(redis, 'switchboardRateLimitLease', 1, LEASE);
  const windows = new Map<string, Window>();

  const sweep = (at: number) => {
    for (const [key, window] of windows) if (window.endsAt <= at && window.waiting.length === 0 && !window.leasing) windows.delete(key);
  };

  const windowOf = (key: string, at: number): Window => {
    const known = windows.get(key);
    if (known && (known.endsAt > at || known.leasing)) return known;
    if (windows.size > 10_000) sweep(at);
    const window = { endsAt: 0, next: 1, last: 0, recent: known?.recent ?? { since: at, count: 0, before: 0 }, waiting: [] };
    windows.set(key, window);
    return window;
  };

  const noteRequest = (window: Window, at: number) => {
    const { recent } = window;
    if (at - recent.since >= LEASE_HORIZON_MS) {
      recent.before = at - recent.since >= 2 * LEASE_HORIZON_MS ? 0 : recent.count;
      recent.since = at;
      recent.count = 0;
    }
    recent.count += 1;
  };

  const blockSize = (window: Window, max: number) =>
    Math.max(1, Math.min(Math.floor(max / LEASE_SHARE), Math.max(window.waiting.length, window.recent.before, window.recent.count)));

  /** Gives the waiting requests their numbers while the window has some; true when none are left waiting. */
  const give = (window: Window, max: number, at: number) => {
    let given = 0;
    while (given < window.waiting.length && at < window.endsAt) {
      // A used-up window needs no more numbers from Redis: every request past it is over the limit.
      const spent = window.next > window.last && window.last > max;
      if (!spent && window.next > window.last) break;
      window.waiting[given++]!.done(null, { current: spent ? window.last + 1 : window.next++, ttl: window.endsAt - at });
    }
    window.waiting.splice(0, given);
    return window.waiting.length === 0;
  };

  const failWaiting = (window: Window, error: Error) => {
    window.leasing = undefined;
    for (const { done } of window.waiting.splice(0)) done(error);
  };

  const takeBlock = (key: string, window: Window, windowMs: number, max: number) => {
    const size = blockSize(window, max);
    const leasing = {};
    window.leasing = leasing;
    // A lease caught in a failover may wait for the reconnection: the requests waiting on it go on
    // uncounted after LEASE_WAIT_MS, and a block it brings back late is left unused (stricter, never looser).
    const unanswered = setTimeout(() => {
      if (window.leasing === leasing) failWaiting(window, new Error(`the rate limit counter did not answer within ${LEASE_WAIT_MS} ms`));
    }, LEASE_WAIT_MS).unref();
    lease(`${prefix}${key}`, windowMs, size).then(
      (answer) => {
        clearTimeout(unanswered);
        if (window.leasing !== leasing) return;
        const [last, ttl] = answer as [number, number];
        const at = now();
        window.leasing = undefined;
        window.endsAt = at + ttl;
        window.next = last - size + 1;
        window.last = last;
        if (!give(window, max, at)) takeBlock(key, window, windowMs, max);
      },
      (error: Error) => {
        clearTimeout(unanswered);
        if (window.leasing === leasing) failWaiting(window, error);
      },
    );
  };

  return {
    incr(key, done, windowMs, max) {
      const at = now();
      const window = windowOf(key, at);
      noteRequest(window, at);
      window.waiting.push({ done });
      if (window.leasing) return;
      if (!give(window, max, at)) takeBlock(key, window, windowMs, max);
    },
    child: (route) => leasedCountStore({ redis, prefix: `${prefix}${String(route.method)}${route.url}-`, now }),
  };
}
