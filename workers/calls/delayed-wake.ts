import type { Queue } from 'bullmq';
import type { RedisConnection as Redis } from '../../src/lib/redis.js';

/** BullMQ scores a delayed job `due * 0x1000 + counter`. */
const dueAtOf = (score: string) => Math.floor(Number(score) / 0x1000);

/** A job still delayed after its wake-up is woken for again, backing off to this. */
const MAX_RETRY_MS = 50;

/**
 * Redis ends a blocking wait only on its own clock tick (every 100 ms at the default `hz` 10), so a
 * worker waiting for a delayed job starts it up to 100 ms late. This follows the earliest delayed
 * job and, the moment it is due, leaves the marker BullMQ's workers wait on: they wake on time and
 * promote it. Learning of new delayed jobs costs one read every `pollMs`.
 */
export function wakeForDelayedJobs(redis: Redis, queue: Pick<Queue, 'keys'>, pollMs = 25) {
  const { marker, delayed } = queue.keys as { marker: string; delayed: string };
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let lastWakeAt = 0;
  let retryMs = 0;
  let closed = false;

  const wakeAt = (at: number) => {
    if (closed || at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => void wake(), Math.max(0, at - Date.now()));
  };

  const wake = async () => {
    timerAt = Infinity;
    await redis.zadd(marker, 0, '0').catch(() => 0);
    lastWakeAt = Date.now();
    await follow();
  };

  const follow = async () => {
    const [, score] = await redis.zrange(delayed, '0', '0', 'WITHSCORES').catch(() => [] as string[]);
    if (score === undefined) return;
    // A millisecond after it is due: a worker promotes what is due by its own clock's millisecond.
    const dueAt = dueAtOf(score) + 1;
    if (dueAt > lastWakeAt) {
      retryMs = 0;
      wakeAt(dueAt);
    } else {
      // Woken for already and still delayed: every worker was busy, or took the marker early.
      retryMs = Math.min(Math.max(retryMs * 2, 5), MAX_RETRY_MS);
      wakeAt(lastWakeAt + retryMs);
    }
  };

  const polling = setInterval(() => void follow(), pollMs);
  return {
    close() {
      closed = true;
      clearInterval(polling);
      clearTimeout(timer);
    },
  };
}
