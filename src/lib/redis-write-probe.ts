import type { RedisConnection } from './redis.js';

/** How long a probe's key lives: long enough to read while debugging, short enough to leave nothing. */
const PROBE_TTL_MS = 10_000;

/** The key a process writes to prove Redis takes writes; under the prefix, so in the deployment's hash tag. */
export const healthProbeKey = (prefix: string, who: string) => `${prefix}:health:${who}`;

/**
 * True when Redis accepts a write now. PING alone is answered by a replica, by a master a failover
 * has just demoted, and by a cluster node that does not own the prefix's slot, all of which refuse
 * the service's writes.
 */
export async function redisAcceptsWrites(redis: RedisConnection, key: string): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  try {
    return (await redis.set(key, String(Date.now()), 'PX', PROBE_TTL_MS)) === 'OK';
  } catch {
    return false;
  }
}
