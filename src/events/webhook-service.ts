import { randomBytes } from 'node:crypto';
import { AppError, conflict } from '../errors.js';
import { createDeliveryLog, type DeliveryAttempt } from './delivery-log.js';
import type { DeliveryQueues } from './delivery-queue.js';
import { checkDestination, RefusedDestinationError } from './destination-guard.js';
import type { EventRecorder } from './event-recorder.js';
import type { SubscriptionCache } from './subscription-cache.js';
import {
  ENV_SUBSCRIPTION_ID,
  publicSubscription,
  SubscriptionNotFoundError,
  type Subscription,
  type SubscriptionInput,
  type SubscriptionPatch,
  type SubscriptionStore,
} from './subscription-store.js';
import type { RedisConnection as Redis } from '../lib/redis.js';

export interface WebhookServiceDeps {
  redis: Redis;
  prefix: string;
  store: SubscriptionStore;
  subscriptions: SubscriptionCache;
  events: EventRecorder;
  queues: DeliveryQueues;
  allowPrivate: boolean;
}

/** Most events one replay re-sends. */
export const REPLAY_LIMIT = 10_000;

const notFound = (id: string) => new AppError(404, 'WEBHOOK_NOT_FOUND', `No webhook subscription ${id}`);
const managedByEnv = (what: string) => conflict('WEBHOOK_MANAGED_BY_ENV', `The ${ENV_SUBSCRIPTION_ID} subscription is EVENTS_WEBHOOK_URL's: ${what} is changed by its variables`);

/** Subscriptions as the API manages them, with their deliveries and replays. */
export function createWebhookService({ redis, prefix, store, subscriptions, events, queues, allowPrivate }: WebhookServiceDeps) {
  const deliveries = createDeliveryLog(redis, prefix);
  const existing = async (id: string): Promise<Subscription> => {
    try {
      return await store.get(id);
    } catch (error) {
      if (error instanceof SubscriptionNotFoundError) throw notFound(id);
      throw error;
    }
  };
  const refusedUrl = async (url: string) => {
    try {
      await checkDestination(url, allowPrivate);
    } catch (error) {
      if (error instanceof RefusedDestinationError) throw new AppError(400, 'WEBHOOK_URL_REFUSED', error.message, [{ field: 'url', message: error.message }]);
      throw error;
    }
  };
  const withFailing = (subscription: Subscription, failing: Map<string, { since: number; error: string }>) => {
    const failed = failing.get(subscription.id);
    return { ...publicSubscription(subscription), failingSince: failed ? new Date(failed.since).toISOString() : null, lastError: failed?.error ?? null };
  };
  const view = async (subscription: Subscription) => withFailing(subscription, await store.failing());
  // This process's copy follows at once; the others' on the announcement.
  const changed = async <T>(result: T) => {
    await subscriptions.refresh();
    return result;
  };

  return {
    async create(input: SubscriptionInput) {
      await refusedUrl(input.url);
      const subscription = await changed(await store.create(input));
      return { subscription: await view(subscription), secret: subscription.secret };
    },
    async list() {
      const [all, failing] = await Promise.all([store.list(), store.failing()]);
      return all.map((each) => withFailing(each, failing));
    },
    get: async (id: string) => view(await existing(id)),
    async update(id: string, patch: SubscriptionPatch) {
      const current = await existing(id);
      if (current.source === 'env' && (patch.url !== undefined || patch.eventTypes !== undefined || patch.campaignId !== undefined)) throw managedByEnv('its url and filters');
      if (patch.url !== undefined && patch.url !== current.url) await refusedUrl(patch.url);
      return view(await changed(await store.update(id, patch)));
    },
    async remove(id: string) {
      const current = await existing(id);
      if (current.source === 'env') throw managedByEnv('whether it exists');
      await store.remove(id);
      await queues.drop(id);
      await changed(undefined);
    },
    async rotateSecret(id: string) {
      const current = await existing(id);
      if (current.source === 'env') throw managedByEnv('its secret');
      const rotated = await changed(await store.rotateSecret(id));
      return { subscription: await view(rotated), secret: rotated.secret };
    },
    async deliveries(id: string, filter: { eventId?: string; result?: DeliveryAttempt['result']; limit: number }) {
      await existing(id);
      return deliveries.list(id, filter);
    },
    /** Sends recorded events again, by id or by the time they happened, in their original order. */
    async replay(id: string, request: { eventIds?: string[]; from?: string; to?: string }) {
      const subscription = await existing(id);
      const ids = request.eventIds ?? (await events.idsBetween(Date.parse(request.from ?? '1970-01-01T00:00:00Z'), Date.parse(request.to ?? new Date().toISOString()), REPLAY_LIMIT + 1));
      const chosen = ids.slice(0, REPLAY_LIMIT);
      const replayId = `rp${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
      const replayed = await events.replay(subscription, chosen, replayId);
      return { replayId, replayed, truncated: ids.length > REPLAY_LIMIT, enabled: subscription.enabled };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
