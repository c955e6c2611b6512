import { Redis, type RedisOptions } from 'ioredis';
import { followAvailability } from './redis-availability.js';

/** The URL with its password replaced by `***`, for logs and messages. */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/**
 * Producers fail fast: a request that cannot reach Redis gets a 503 at once instead of hanging
 * in ioredis's offline queue. Consumers (workers) wait and retry for as long as Redis is away.
 */
export function createRedis(url: string, role: 'producer' | 'consumer', name: string): Redis {
  const options: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 }
      : { maxRetriesPerRequest: null };
  const redis = new Redis(url, {
    ...options,
    connectionName: `switchboard:${name}`,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: true,
  });
  return followAvailability(redis, url, isRedisUnavailable);
}

/** Connects, waiting at most `timeoutMs`; a producer connection must be up before use. */
export async function connectRedis(redis: Redis, timeoutMs = 5_000): Promise<Redis> {
  if (redis.status === 'ready') return redis;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([redis.status === 'wait' ? redis.connect() : once(redis, 'ready'), timeout]);
    return redis;
  } finally {
    clearTimeout(timer);
  }
}

function once(redis: Redis, event: string): Promise<void> {
  return new Promise((resolve) => redis.once(event, () => resolve()));
}

const UNAVAILABLE_PATTERNS = [
  /Stream isn't writeable/,
  /Connection is closed/,
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH/,
  /Reached the max retries per request limit/,
  /Redis did not answer/,
];

/** True for the errors ioredis raises while Redis is unreachable, as opposed to a command's own error. */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const text = `${error.name} ${error.message} ${(error as NodeJS.ErrnoException).code ?? ''}`;
  return UNAVAILABLE_PATTERNS.some((pattern) => pattern.test(text));
}

export type RedisScript = (...args: Array<string | number>) => Promise<unknown>;

/**
 * A Lua script as an ioredis command: sent by its SHA (EVALSHA) and loaded again if Redis forgot
 * it, so Redis neither receives nor hashes the body on every call.
 */
export function redisScript(redis: Redis, name: string, numberOfKeys: number, lua: string): RedisScript {
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  const commands = redis as unknown as Record<string, RedisScript>;
  return (...args) => commands[name]!(...args);
}
