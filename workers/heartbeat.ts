import type { RedisConnection as Redis } from '../src/lib/redis.js';
import { WORKER_HEARTBEAT_MS, workerHeartbeatKey } from '../src/jobs/call-jobs.js';

/**
 * Tells the API this worker lives, for its readiness and dashboard: the worker's latest beat in one
 * sorted set, every WORKER_HEARTBEAT_MS. The first beat is sent before this returns.
 */
export async function startHeartbeat(redis: Redis, prefix: string, workerId: string) {
  const key = workerHeartbeatKey(prefix);
  const beat = () => redis.zadd(key, Date.now(), workerId).catch(() => 0);
  const timer = setInterval(beat, WORKER_HEARTBEAT_MS);
  await beat();
  return {
    async close() {
      clearInterval(timer);
      await redis.zrem(key, workerId).catch(() => 0);
    },
  };
}
