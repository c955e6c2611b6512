import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { followAvailability } from './redis-availability.js';
import { describeRedisTarget, type RedisTarget } from './redis-target.js';

export { maskRedisUrl } from './redis-url.js';

/** What BullMQ and every store accept: one server (standalone or Sentinel's master) or a cluster. */
export type RedisConnection = Redis | Cluster;

export type RedisRole = 'producer' | 'consumer';

/**
 * Producers fail fast: a request that cannot reach Redis gets a 503 at once instead of hanging
 * in ioredis's offline queue. Consumers (workers) wait and retry for as long as Redis is away
 * (BullMQ requires `maxRetriesPerRequest: null` on connections that block).
 */
const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 },
  consumer: { maxRetriesPerRequest: null },
};

/**
 * Opens nothing yet (`lazyConnect`): a connection to the target in its mode, with these options
 * on every server it talks to. Never a `keyPrefix`: BullMQ and the stores prefix keys themselves.
 */
export function openRedis(target: RedisTarget, options: RedisOptions): RedisConnection {
  const server: RedisOptions = {
    ...options,
    ...(target.username && { username: target.username }),
    ...(target.password && { password: target.password }),
    ...(target.tls && { tls: {} }),
    lazyConnect: true,
  };
  if (target.mode === 'standalone') return new Redis(target.url, server);
  if (target.mode === 'sentinel') {
    return new Redis({
      ...server,
      sentinels: target.sentinels,
      name: target.masterName,
      ...(target.sentinelPassword && { sentinelPassword: target.sentinelPassword }),
      ...(target.tls && { enableTLSForSentinelMode: true, sentinelTLS: {} }),
      // Hears the Sentinels announce a new master instead of waiting to lose the old one.
      failoverDetector: true,
    });
  }
  const { enableOfflineQueue, retryStrategy, ...nodeOptions } = server;
  const cluster: ClusterOptions = {
    lazyConnect: true,
    ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
    ...(retryStrategy && { clusterRetryStrategy: (attempt: number) => retryStrategy(attempt) ?? null }),
    // Managed clusters with TLS announce names their certificates carry: keep them, do not resolve them.
    ...(target.tls && { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }),
    redisOptions: nodeOptions,
  };
  return new Cluster(target.nodes, cluster);
}

/** A connection of the service in the given role, its losses and returns reported once per process. */
export function createRedis(target: RedisTarget, role: RedisRole, name: string): RedisConnection {
  const redis = openRedis(target, {
    ...ROLE_OPTIONS[role],
    connectionName: `switchboard:${name}`,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  return followAvailability(redis, describeRedisTarget(target), isRedisUnavailable);
}

/** Connects, waiting at most `timeoutMs`; a producer connection must be up before use. */
export async function connectRedis<Connection extends RedisConnection>(redis: Connection, timeoutMs = 5_000): Promise<Connection> {
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

function once(redis: RedisConnection, event: string): Promise<void> {
  return new Promise((resolve) => redis.once(event, () => resolve()));
}

const UNREACHABLE_PATTERNS = [
  /Stream isn't writeable/,
  /Connection is closed/,
  // EPIPE: a command written as Redis went away.
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH/,
  /Reached the max retries per request limit/,
  /Redis did not answer/,
  // The cluster and Sentinel clients' own words while they look for the servers.
  /Cluster isn't ready|Cluster is disconnect|None of startup nodes is available|Failed to refresh slots cache|Node is disconnected/,
  /All sentinels are unreachable/,
];

/**
 * Replies of a Redis that is up but cannot serve the command now: a replica not yet promoted or a
 * master demoted by a failover (READONLY, MASTERDOWN), a slot moving or a cluster re-forming (MOVED
 * and ASK that the client did not follow, CLUSTERDOWN, TRYAGAIN), a restart reading its data
 * (LOADING). Each passes by itself; a redirection loop ends in ioredis's "Too many Cluster redirections".
 */
const SWITCHING_REPLY = /^(READONLY|MASTERDOWN|NOREPLICAS|MOVED \d+|ASK \d+|CLUSTERDOWN|TRYAGAIN|LOADING)\b|^Too many Cluster redirections/;

/** Why Redis cannot serve a command for now, or undefined for a command's own error. */
export function redisUnavailableReason(error: unknown): 'unreachable' | 'switching' | undefined {
  if (!(error instanceof Error)) return undefined;
  if (SWITCHING_REPLY.test(error.message)) return 'switching';
  const text = `${error.name} ${error.message} ${(error as NodeJS.ErrnoException).code ?? ''}`;
  return UNREACHABLE_PATTERNS.some((pattern) => pattern.test(text)) ? 'unreachable' : undefined;
}

/** True for the errors raised while Redis is unreachable or failing over, as opposed to a command's own error. */
export const isRedisUnavailable = (error: unknown): boolean => redisUnavailableReason(error) !== undefined;

export type RedisScript = (...args: Array<string | number>) => Promise<unknown>;

/**
 * A Lua script as an ioredis command: sent by its SHA (EVALSHA) and loaded again if Redis forgot
 * it, so Redis neither receives nor hashes the body on every call.
 */
export function redisScript(redis: RedisConnection, name: string, numberOfKeys: number, lua: string): RedisScript {
  if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  const commands = redis as unknown as Record<string, RedisScript>;
  return (...args) => commands[name]!(...args);
}

/** As `redisScript`, for a script whose number of keys varies from call to call: each call gives its keys. */
export function redisScriptOfKeys(redis: RedisConnection, name: string, lua: string): (keys: string[], args: Array<string | number>) => Promise<unknown> {
  // Without numberOfKeys, ioredis takes the number of keys as the first argument of each call.
  if (!(name in redis)) redis.defineCommand(name, { lua });
  const commands = redis as unknown as Record<string, RedisScript>;
  return (keys, args) => commands[name]!(keys.length, ...keys, ...args);
}
