import { randomBytes } from 'node:crypto';
import type { RedisConnection as Redis } from '../lib/redis.js';
import type { EventType } from './event-types.js';

/** A receiver of events: where, which, and the secret they are signed with. */
export interface Subscription {
  id: string;
  url: string;
  /** The types wanted; null: every type. */
  eventTypes: EventType[] | null;
  /** Only this campaign's events (its calls and the campaign itself); null: every event. */
  campaignId: string | null;
  description: string | null;
  enabled: boolean;
  /** Why deliveries stopped: the receiver's 410, or failing too long. */
  disabledReason: string | null;
  disabledAt: string | null;
  /** `api`, or `env` for EVENTS_WEBHOOK_URL. */
  source: 'api' | 'env';
  createdAt: string;
  updatedAt: string;
  secret: string;
  /** The secret before the last rotation, still signed with until `previousSecretUntil`, so receivers can switch. */
  previousSecret: string | null;
  previousSecretUntil: string | null;
}

export type SubscriptionInput = Pick<Subscription, 'url' | 'eventTypes' | 'campaignId' | 'description'> & { enabled?: boolean };
export type SubscriptionPatch = Partial<SubscriptionInput>;

/** The subscription EVENTS_WEBHOOK_URL describes. */
export const ENV_SUBSCRIPTION_ID = 'env';

/** How long the old secret still signs after a rotation. */
const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export const webhookKeys = (prefix: string) => ({
  subscriptions: `${prefix}:webhooks:subscriptions`,
  /** Subscription id → when its deliveries started failing (ms) and the last error. */
  failing: `${prefix}:webhooks:failing`,
  changes: `${prefix}:webhooks:changes`,
  sequence: `${prefix}:webhooks:sequence`,
  /** Every recorded event by time, for replay. */
  events: `${prefix}:webhooks:events`,
  event: (id: string) => `${prefix}:webhooks:event:${id}`,
  lane: (subscriptionId: string, lane: string) => `${prefix}:webhooks:lane:${subscriptionId}:${lane}`,
  deliveries: (subscriptionId: string) => `${prefix}:webhooks:deliveries:${subscriptionId}`,
  replays: `${prefix}:webhooks:replays`,
});

export class SubscriptionNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`No webhook subscription ${id}`);
  }
}

/** Subscriptions in Redis, one hash field each; every change is announced so each process's copy follows at once. */
export function createSubscriptionStore(redis: Redis, prefix: string, now: () => number = Date.now) {
  const keys = webhookKeys(prefix);
  const save = async (subscription: Subscription) => {
    await redis.hset(keys.subscriptions, subscription.id, JSON.stringify(subscription));
    await redis.publish(keys.changes, subscription.id);
    return subscription;
  };
  const get = async (id: string): Promise<Subscription> => {
    const text = await redis.hget(keys.subscriptions, id);
    if (!text) throw new SubscriptionNotFoundError(id);
    return JSON.parse(text) as Subscription;
  };
  const iso = () => new Date(now()).toISOString();

  return {
    keys,
    get,
    async list(): Promise<Subscription[]> {
      const all = Object.values(await redis.hgetall(keys.subscriptions)).map((text) => JSON.parse(text) as Subscription);
      return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    },
    /** Since when each failing subscription has failed, and its last error. */
    async failing(): Promise<Map<string, { since: number; error: string }>> {
      const entries = Object.entries(await redis.hgetall(keys.failing));
      return new Map(entries.map(([id, text]) => [id, JSON.parse(text) as { since: number; error: string }]));
    },
    async create(input: SubscriptionInput, source: Subscription['source'] = 'api', id = `whk_${randomBytes(12).toString('hex')}`, secret = newWebhookSecret()): Promise<Subscription> {
      const at = iso();
      return save({
        id,
        url: input.url,
        eventTypes: input.eventTypes,
        campaignId: input.campaignId,
        description: input.description,
        enabled: input.enabled ?? true,
        disabledReason: null,
        disabledAt: null,
        source,
        createdAt: at,
        updatedAt: at,
        secret,
        previousSecret: null,
        previousSecretUntil: null,
      });
    },
    async update(id: string, patch: SubscriptionPatch): Promise<Subscription> {
      const current = await get(id);
      const enabling = patch.enabled === true && !current.enabled;
      if (enabling) await redis.hdel(keys.failing, id);
      const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
      return save({
        ...current,
        ...defined,
        ...(enabling && { disabledReason: null, disabledAt: null }),
        ...(patch.enabled === false && current.enabled && { disabledReason: 'disabled through the API', disabledAt: iso() }),
        updatedAt: iso(),
      });
    },
    async rotateSecret(id: string): Promise<Subscription> {
      const current = await get(id);
      return save({ ...current, secret: newWebhookSecret(), previousSecret: current.secret, previousSecretUntil: new Date(now() + ROTATION_OVERLAP_MS).toISOString(), updatedAt: iso() });
    },
    async remove(id: string): Promise<void> {
      await get(id);
      await redis.multi().hdel(keys.subscriptions, id).hdel(keys.failing, id).del(keys.deliveries(id)).exec();
      await redis.publish(keys.changes, id);
    },
    /** Stops deliveries and says why; they resume when the subscription is enabled again. */
    async disable(id: string, reason: string): Promise<void> {
      const current = await get(id).catch(() => undefined);
      if (!current?.enabled) return;
      await save({ ...current, enabled: false, disabledReason: reason, disabledAt: iso(), updatedAt: iso() });
    },
    /** A delivery failed: since when this subscription has been failing (kept from its first failure until a success). */
    async failed(id: string, error: string): Promise<number> {
      const current = await redis.hget(keys.failing, id);
      const since = current ? (JSON.parse(current) as { since: number }).since : now();
      await redis.hset(keys.failing, id, JSON.stringify({ since, error }));
      return since;
    },
    async succeeded(id: string): Promise<void> {
      await redis.hdel(keys.failing, id);
    },
    /** EVENTS_WEBHOOK_URL as a subscription to every event: created, changed with the variables, or removed without them. */
    async syncEnv(url: string | undefined, secret: string | undefined): Promise<void> {
      const current = await get(ENV_SUBSCRIPTION_ID).catch(() => undefined);
      if (!url || !secret) {
        if (current) await this.remove(ENV_SUBSCRIPTION_ID);
        return;
      }
      if (!current) {
        await this.create({ url, eventTypes: null, campaignId: null, description: 'EVENTS_WEBHOOK_URL' }, 'env', ENV_SUBSCRIPTION_ID, secret);
        return;
      }
      if (current.url !== url || current.secret !== secret) {
        await save({ ...current, url, secret, previousSecret: null, previousSecretUntil: null, updatedAt: iso(), ...(current.url !== url && { enabled: true, disabledReason: null, disabledAt: null }) });
      }
    },
  };
}

export type SubscriptionStore = ReturnType<typeof createSubscriptionStore>;

/** What the API shows of a subscription: everything but its secrets. */
export const publicSubscription = ({ secret: _secret, previousSecret: _previous, ...rest }: Subscription) => rest;

/** Whether a subscription wants this event. */
export const wantsEvent = (subscription: Subscription, type: EventType, campaignId: string | undefined) =>
  subscription.enabled && (subscription.eventTypes === null || subscription.eventTypes.includes(type)) && (subscription.campaignId === null || subscription.campaignId === campaignId);
