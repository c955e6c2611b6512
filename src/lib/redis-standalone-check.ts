import type { RedisConnection } from './redis.js';
import { StartupFailure } from './run-process.js';

export class WrongKindOfRedisError extends StartupFailure {
  constructor(described: string, what: string, fix: string) {
    super(`Redis at ${described} is ${what}, not a standalone master: ${fix}`, { redis: described });
    this.name = 'WrongKindOfRedisError';
  }
}

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

/**
 * In standalone mode the server must be a master outside any cluster: a cluster node answers
 * MOVED for the slots it does not own, a replica refuses every write, and a Sentinel holds no data.
 * Each is refused at start with the variable that would reach it properly. A sentinel is asked
 * first: it answers INFO server but none of the other sections.
 */
export async function refuseAllButAMaster(redis: RedisConnection, described: string): Promise<void> {
  const server = await redis.info('server');
  if (field(server, 'redis_mode') === 'sentinel') {
    throw new WrongKindOfRedisError(described, 'a Sentinel', 'set REDIS_MODE=sentinel, REDIS_SENTINELS to the Sentinels (this one among them) and REDIS_SENTINEL_NAME to the master they watch');
  }
  if (field(await redis.info('cluster'), 'cluster_enabled') === '1') {
    throw new WrongKindOfRedisError(described, 'a Redis Cluster node', 'set REDIS_MODE=cluster and REDIS_CLUSTER_NODES to some of its nodes (QUEUE_PREFIX with a hash tag such as {switchboard})');
  }
  const replication = await redis.info('replication');
  if (field(replication, 'role') === 'slave') {
    const master = `${field(replication, 'master_host')}:${field(replication, 'master_port')}`;
    throw new WrongKindOfRedisError(described, `a read-only replica of ${master}`, 'set REDIS_URL to its master, or REDIS_MODE=sentinel with REDIS_SENTINELS and REDIS_SENTINEL_NAME so failovers are followed');
  }
}
