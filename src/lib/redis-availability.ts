import type { Cluster, Redis } from 'ioredis';

type Connection = Redis | Cluster;

export interface AvailabilityChange {
  /** Which Redis, as logs name it (no password). */
  target: string;
  available: boolean;
  /** Why a connection was lost, when ioredis said. */
  reason?: string;
  /** How long Redis was away, on its return. */
  downForMs?: number;
}

type Listener = (change: AvailabilityChange) => void;

interface ServerState {
  /** Connections to this server that are retrying. */
  retrying: Set<Connection>;
  downSince?: number;
  reason?: string;
}

// Kept per process rather than passed around: BullMQ opens connections of its own (duplicates of
// ours), and the outage is one fact about the process however many connections notice it.
const servers = new Map<string, ServerState>();
const listeners = new Set<Listener>();

/** Calls `listener` once when a Redis becomes unreachable and once when every connection is back. */
export function onRedisAvailability(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const notify = (change: AvailabilityChange) => listeners.forEach((listener) => listener(change));

/**
 * Reports this connection's losses and returns to the process's availability listeners, and keeps
 * its connection errors to them: left to ioredis and BullMQ, every retry of every connection prints
 * a stack trace outside the JSON logs. Connections BullMQ duplicates from it are followed too.
 */
export function followAvailability<Followed extends Connection>(redis: Followed, target: string, isConnectionError: (error: unknown) => boolean): Followed {
  const state = servers.get(target) ?? { retrying: new Set<Connection>() };
  servers.set(target, state);

  const emit = redis.emit.bind(redis);
  redis.emit = (event: string | symbol, ...args: unknown[]) => {
    if (event === 'error' && isConnectionError(args[0])) {
      state.reason ??= (args[0] as Error).message;
      return true;
    }
    return emit(event, ...args);
  };
  // ioredis prints errors itself when nobody listens, before emit is reached.
  redis.on('error', () => {});
  // Redis and Cluster duplicate with different arguments; either way the copy is followed too.
  const duplicate = (redis.duplicate as (...args: unknown[]) => Connection).bind(redis);
  (redis as { duplicate: (...args: unknown[]) => Connection }).duplicate = (...args) => followAvailability(duplicate(...args), target, isConnectionError);

  redis.on('reconnecting', () => {
    if (state.retrying.size === 0 && state.downSince === undefined) {
      state.downSince = Date.now();
      notify({ target, available: false, ...(state.reason && { reason: state.reason }) });
    }
    state.retrying.add(redis);
  });
  redis.on('ready', () => {
    if (!state.retrying.delete(redis) || state.retrying.size > 0 || state.downSince === undefined) return;
    const downForMs = Date.now() - state.downSince;
    state.downSince = undefined;
    state.reason = undefined;
    notify({ target, available: true, downForMs });
  });
  // A connection closed on purpose while retrying no longer waits for Redis.
  redis.on('end', () => {
    if (state.retrying.delete(redis) && state.retrying.size === 0) state.downSince = undefined;
  });
  return redis;
}
