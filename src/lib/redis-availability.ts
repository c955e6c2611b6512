import type { Redis } from 'ioredis';

export interface AvailabilityChange {
  url: string;
  available: boolean;
  /** Why a connection was lost, when ioredis said. */
  reason?: string;
  /** How long Redis was away, on its return. */
  downForMs?: number;
}

type Listener = (change: AvailabilityChange) => void;

interface ServerState {
  /** Connections to this server that are retrying. */
  retrying: Set<Redis>;
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
export function followAvailability(redis: Redis, url: string, isConnectionError: (error: unknown) => boolean): Redis {
  const state = servers.get(url) ?? { retrying: new Set<Redis>() };
  servers.set(url, state);

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
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (...args: Parameters<Redis['duplicate']>) => followAvailability(duplicate(...args), url, isConnectionError);

  redis.on('reconnecting', () => {
    if (state.retrying.size === 0 && state.downSince === undefined) {
      state.downSince = Date.now();
      notify({ url, available: false, ...(state.reason && { reason: state.reason }) });
    }
    state.retrying.add(redis);
  });
  redis.on('ready', () => {
    if (!state.retrying.delete(redis) || state.retrying.size > 0 || state.downSince === undefined) return;
    const downForMs = Date.now() - state.downSince;
    state.downSince = undefined;
    state.reason = undefined;
    notify({ url, available: true, downForMs });
  });
  // A connection closed on purpose while retrying no longer waits for Redis.
  redis.on('end', () => {
    if (state.retrying.delete(redis) && state.retrying.size === 0) state.downSince = undefined;
  });
  return redis;
}
