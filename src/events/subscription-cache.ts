import type { RedisConnection as Redis } from '../lib/redis.js';
import type { Logger } from '../logger.js';
import { CALL_EVENT_TYPES } from './event-types.js';
import type { Subscription, SubscriptionStore } from './subscription-store.js';

/** How often the whole list is read again even with no change announced. */
const REFRESH_MS = 5_000;

/**
 * The subscriptions, in this process's memory: every change is announced over pub/sub and read at
 * once, and the list is read again every few seconds, so recording an event asks Redis nothing
 * about who wants it, and a process with no subscription records nothing at all.
 */
export function createSubscriptionCache(store: SubscriptionStore, connectSubscriber: () => Redis, logger: Logger) {
  let subscriptions: Subscription[] = [];
  let wantsCalls = false;
  const listeners = new Set<(subscriptions: Subscription[]) => void>();
  const load = async () => {
    subscriptions = await store.list();
    wantsCalls = subscriptions.some((each) => each.enabled && (each.eventTypes === null || each.eventTypes.some((type) => (CALL_EVENT_TYPES as readonly string[]).includes(type))));
    for (const listener of listeners) listener(subscriptions);
  };
  let subscriber: Redis | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started: Promise<void> | undefined;
  const reload = () => void load().catch((error) => logger.warn({ err: error }, 'webhook subscriptions could not be read'));

  const start = () =>
    (started ??= (async () => {
      subscriber = connectSubscriber();
      subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'webhook subscription announcements: connection error'));
      subscriber.on('message', reload);
      await subscriber.subscribe(store.keys.changes);
      await load();
      timer = setInterval(reload, REFRESH_MS);
      timer.unref();
    })());

  return {
    /** Subscribes and reads the list once; every other method waits for it. */
    ready: start,
    async all(): Promise<Subscription[]> {
      await start();
      return subscriptions;
    },
    /** Whether any enabled subscription wants call events: without one, calls are not turned into events. */
    wantsCalls: () => wantsCalls,
    /** Whether any enabled subscription wants one of these types (from memory). */
    wantsAny: (types: readonly string[]) => subscriptions.some((each) => each.enabled && (each.eventTypes === null || each.eventTypes.some((type) => types.includes(type)))),
    /** Reads the list now (a change this process made). */
    refresh: () => load(),
    /** Told of every reload: a worker starts and stops deliveries by it. */
    onChange(listener: (subscriptions: Subscription[]) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      if (timer) clearInterval(timer);
      listeners.clear();
      await subscriber?.quit().catch(() => subscriber?.disconnect());
    },
  };
}

export type SubscriptionCache = ReturnType<typeof createSubscriptionCache>;
