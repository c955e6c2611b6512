import type { Config } from '../config.js';
import { StartupFailure } from './run-process.js';
import type { Logger } from '../logger.js';
import { onRedisAvailability } from './redis-availability.js';
import { openRedis, type RedisConnection } from './redis.js';
import { describeRedisTarget, type RedisTarget } from './redis-target.js';
import { refuseAllButAMaster } from './redis-standalone-check.js';

/** The variables that say where Redis is, in each mode: what to set when it is not there. */
const WHERE_VARIABLES: Record<RedisTarget['mode'], string> = {
  standalone: 'REDIS_URL',
  cluster: 'REDIS_CLUSTER_NODES',
  sentinel: 'REDIS_SENTINELS and REDIS_SENTINEL_NAME',
};

export class RedisUnreachableError extends StartupFailure {
  constructor(target: RedisTarget, waitedMs: number, reason: string | undefined) {
    const described = describeRedisTarget(target);
    super(
      `Redis at ${described} did not answer within ${waitedMs} ms${reason ? ` (${reason})` : ''}: ` +
        `start Redis there, or set ${WHERE_VARIABLES[target.mode]} to a Redis that answers (REDIS_STARTUP_WAIT_MS waits longer)`,
      { redis: described },
    );
    this.name = 'RedisUnreachableError';
  }
}

/** Connects within `waitMs`, retrying meanwhile, or throws a RedisUnreachableError. */
export async function waitForRedis(target: RedisTarget, waitMs: number): Promise<RedisConnection> {
  const redis = openRedis(target, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectionName: 'switchboard:startup',
    retryStrategy: (attempt) => Math.min(attempt * 100, 500),
  });
  let reason: string | undefined;
  redis.on('error', (error: Error) => (reason = error.message));
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<boolean>((resolve) => {
    redis.once('ready', () => resolve(true));
    timer = setTimeout(() => resolve(false), waitMs);
  });
  redis.connect().catch(() => {});
  const answered = await ready;
  clearTimeout(timer);
  if (!answered) {
    redis.disconnect();
    throw new RedisUnreachableError(target, waitMs, reason);
  }
  return redis;
}

export interface RedisPersistence {
  appendonly?: string;
  save?: string;
}

/** The server's persistence settings; managed services that refuse CONFIG still tell INFO. */
export async function readPersistence(redis: RedisConnection): Promise<RedisPersistence> {
  try {
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, save] = (await redis.config('GET', 'save')) as string[];
    return { appendonly: appendonly ?? 'no', save: save ?? '' };
  } catch {
    const info = await redis.info('persistence').catch(() => '');
    const aof = /aof_enabled:(\d)/.exec(info)?.[1];
    return aof === undefined ? {} : { appendonly: aof === '1' ? 'yes' : 'no' };
  }
}

function describe(persistence: RedisPersistence): { level: 'info' | 'warn'; text: string } {
  if (persistence.appendonly === 'yes') return { level: 'info', text: 'keeps its data on disk (append-only file on)' };
  if (persistence.appendonly === undefined) return { level: 'info', text: 'does not say how it keeps its data (CONFIG and INFO refused); keep its append-only file on' };
  if (persistence.save)
    return { level: 'warn', text: `saves snapshots only (save "${persistence.save}"): calls queued since the last one are lost if it restarts; turn on appendonly` };
  return { level: 'warn', text: 'keeps nothing on disk: queued calls are lost when it restarts; turn on appendonly (redis-server --appendonly yes)' };
}

/**
 * What every process does before it starts: wait a short while for Redis, or exit with one line
 * saying which Redis did not answer; then say which Redis it uses and whether that Redis keeps the
 * queue across its restarts, and log each outage once as it starts and once as it ends.
 */
export async function redisAtStart(config: Readonly<Config>, logger: Logger): Promise<void> {
  const redis = await waitForRedis(config.redis, config.REDIS_STARTUP_WAIT_MS);
  const masked = describeRedisTarget(config.redis);
  try {
    if (config.redis.mode === 'standalone') await refuseAllButAMaster(redis, masked);
    const persistence = await readPersistence(redis);
    const { level, text } = describe(persistence);
    const which = config.redisUrlDefaulted ? ' (REDIS_URL unset: the local default)' : '';
    logger[level]({ redis: masked, ...persistence }, `Using Redis at ${masked}${which}; it ${text}`);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  onRedisAvailability(({ target, available, reason, downForMs }) => {
    if (target !== masked) return;
    if (available) logger.info({ redis: masked, downForMs }, 'Redis is back');
    else logger.warn({ redis: masked, ...(reason && { reason }) }, 'Redis unreachable: retrying until it answers');
  });
}
