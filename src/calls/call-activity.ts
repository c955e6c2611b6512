import type { RedisConnection as Redis } from '../lib/redis.js';

/** Minutes of activity kept: a day and a bit, for the console's chart of the last hours. */
const KEEP_SECONDS = 26 * 3600;
/** Calls that ended, newest first, kept for the console's list. */
const RECENT = 50;

export interface ActivitySeries {
  /** The start of each minute (ms), oldest first. */
  minutes: number[];
  dials: number[];
  /** Calls that ended in each minute, by outcome. */
  outcomes: Record<string, number[]>;
}

/**
 * What happened minute by minute, across every process: dials placed and calls ended by outcome,
 * one small hash a minute in Redis, and the calls that ended last. Feeds the operator console.
 */
export function createCallActivity(redis: Redis, prefix: string, now: () => number = Date.now) {
  const minuteKey = (minute: number) => `${prefix}:activity:${minute}`;
  const recentKey = `${prefix}:activity:recent`;
  const currentMinute = () => Math.floor(now() / 60_000);

  return {
    async dialed(): Promise<void> {
      const key = minuteKey(currentMinute());
      await redis.multi().hincrby(key, 'dials', 1).expire(key, KEEP_SECONDS).exec();
    },
    async ended(jobId: string, outcome: string): Promise<void> {
      const key = minuteKey(currentMinute());
      await redis.multi().hincrby(key, `outcome:${outcome}`, 1).expire(key, KEEP_SECONDS).lrem(recentKey, 0, jobId).lpush(recentKey, jobId).ltrim(recentKey, 0, RECENT - 1).exec();
    },
    /** The last `count` minutes, the current one included. */
    async series(count: number): Promise<ActivitySeries> {
      const last = currentMinute();
      const minutes = Array.from({ length: count }, (_, index) => last - count + 1 + index);
      const pipeline = redis.pipeline();
      for (const minute of minutes) pipeline.hgetall(minuteKey(minute));
      const rows = ((await pipeline.exec()) ?? []).map(([, value]) => (value ?? {}) as Record<string, string>);
      const outcomes: Record<string, number[]> = {};
      rows.forEach((row, index) => {
        for (const [field, value] of Object.entries(row)) {
          if (!field.startsWith('outcome:')) continue;
          const name = field.slice('outcome:'.length);
          (outcomes[name] ??= Array.from({ length: count }, () => 0))[index] = Number(value);
        }
      });
      return { minutes: minutes.map((minute) => minute * 60_000), dials: rows.map((row) => Number(row.dials ?? 0)), outcomes };
    },
    /** Jobs of the calls that ended last, newest first. */
    recent: (limit = RECENT) => redis.lrange(recentKey, 0, limit - 1),
  };
}

export type CallActivity = ReturnType<typeof createCallActivity>;
