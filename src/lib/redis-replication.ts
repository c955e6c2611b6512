import type { Cluster, Redis } from 'ioredis';
import type { RedisConnection } from './redis.js';

/** The connection a write of `hashTagKey`'s slot went over: the client itself, or on a cluster its connection to the slot's master. */
function connectionThatWrites(redis: RedisConnection, hashTagKey: string): () => Promise<Redis> {
  if (!('isCluster' in redis && redis.isCluster)) return async () => redis as Redis;
  const cluster = redis as Cluster;
  let slot: number | undefined;
  return async () => {
    slot ??= Number(await cluster.cluster('KEYSLOT', hashTagKey));
    const owner = cluster.slots[slot]?.[0];
    const node = cluster.nodes('master').find((candidate) => `${candidate.options.host}:${candidate.options.port}` === owner);
    // The slot map is being refreshed (a failover): the caller answers as it does while Redis is away.
    if (!node) throw new Error(`CLUSTERDOWN the master of slot ${slot} is not known yet`);
    return node;
  };
}

/** How many replicas must hold a write before it counts as safe from a failover. */
export interface ReplicationPolicy {
  /** A number of replicas (0: never wait), or 'auto': one whenever the server has a replica connected. */
  replicas: number | 'auto';
  /** How long a write may wait for its replicas. */
  timeoutMs: number;
}

export const DEFAULT_REPLICATION: ReplicationPolicy = { replicas: 'auto', timeoutMs: 1_000 };

/** Fewer replicas acknowledged than were wanted, within the timeout. */
export interface ReplicaShortfall {
  wanted: number;
  acknowledged: number;
  timeoutMs: number;
}

export interface ReplicaAcknowledgement {
  /**
   * Waits until every write this connection sent so far is on the wanted number of replicas (Redis
   * `WAIT`). Undefined when it is, or when none are wanted; the shortfall when the timeout passed first.
   */
  confirm(): Promise<ReplicaShortfall | undefined>;
}

/** How much longer than its own timeout a `WAIT` may take to answer before it counts as unanswered. */
const UNANSWERED_GRACE_MS = 1_000;

/** How long the number of connected replicas is trusted before it is asked again. */
const REPLICA_COUNT_TTL_MS = 1_000;

/**
 * `WAIT` acknowledges the writes of the connection that sends it, so it runs on the connection that
 * wrote. A waiting connection runs nothing else, so callers share waits: one `WAIT` at a time, and
 * everyone who asks while it runs shares the next, sent once it returns (it covers all their writes).
 * On a Redis Cluster every key of the service shares one hash tag, so its writes all go to the
 * master that owns that slot, over the cluster client's own connection to it: `WAIT` goes there.
 */
export function replicaAcknowledgement(redis: RedisConnection, policy: ReplicationPolicy, hashTagKey: string): ReplicaAcknowledgement {
  if (policy.replicas === 0) return { confirm: async () => undefined };
  const writer = connectionThatWrites(redis, hashTagKey);

  let connectedReplicas: { count: number; at: number } | undefined;
  const wantedReplicas = async (): Promise<number> => {
    if (policy.replicas !== 'auto') return policy.replicas;
    if (!connectedReplicas || Date.now() - connectedReplicas.at > REPLICA_COUNT_TTL_MS) {
      const info = await (await writer()).info('replication');
      connectedReplicas = { count: Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0), at: Date.now() };
    }
    return Math.min(1, connectedReplicas.count);
  };

  const waitOnce = async (): Promise<ReplicaShortfall | undefined> => {
    const wanted = await wantedReplicas();
    if (wanted === 0) return undefined;
    const acknowledged = Number(await (await writer()).call('WAIT', wanted, policy.timeoutMs));
    return acknowledged >= wanted ? undefined : { wanted, acknowledged, timeoutMs: policy.timeoutMs };
  };
  // A connection to a master that just died can hold a command until the client gives it up: the
  // wait is bounded here too, and counts as no acknowledgement.
  const wait = async (): Promise<ReplicaShortfall | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<ReplicaShortfall>((resolve) => {
      timer = setTimeout(() => resolve({ wanted: policy.replicas === 'auto' ? 1 : policy.replicas, acknowledged: 0, timeoutMs: policy.timeoutMs }), policy.timeoutMs + UNANSWERED_GRACE_MS);
    });
    try {
      return await Promise.race([waitOnce(), unanswered]);
    } finally {
      clearTimeout(timer);
    }
  };

  let running: Promise<ReplicaShortfall | undefined> | undefined;
  let next: Promise<ReplicaShortfall | undefined> | undefined;
  const start = () => {
    const started = wait().finally(() => {
      if (running === started) running = undefined;
    });
    running = started;
    return started;
  };

  return {
    confirm() {
      if (!running) return start();
      next ??= running.then(
        () => undefined,
        () => undefined,
      ).then(() => {
        next = undefined;
        return start();
      });
      return next;
    },
  };
}

/** The policy configuration sets. */
export const replicationPolicy = (config: { REDIS_WAIT_REPLICAS?: number | undefined; REDIS_WAIT_TIMEOUT_MS: number }): ReplicationPolicy => ({
  replicas: config.REDIS_WAIT_REPLICAS ?? 'auto',
  timeoutMs: config.REDIS_WAIT_TIMEOUT_MS,
});
