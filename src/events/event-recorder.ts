import { redisScriptOfKeys, type RedisConnection as Redis } from '../lib/redis.js';
import type { CallLogRow, CallLogWriter } from '../call-log/call-log-writer.js';
import { callEventsOf } from './call-events.js';
import type { DeliveryQueues } from './delivery-queue.js';
import type { DeliveryJobData } from '../jobs/webhook-jobs.js';
import type { RecordedEvent } from './event-types.js';
import type { SubscriptionCache } from './subscription-cache.js';
import { wantsEvent, webhookKeys, type Subscription } from './subscription-store.js';

/**
 * KEYS: sequence, events index, then each event's key. ARGV: ttl (s), the index's oldest time kept
 * (ms), then each event's id, JSON and time (ms). Keeps each event id once (an id seen before answers
 * 0) and numbers the new ones in the order given; an event is kept as its number, a space, its JSON.
 */
const RECORD = `
local ttl, oldest = tonumber(ARGV[1]), tonumber(ARGV[2])
local numbers = {}
for i = 3, #KEYS do
  local at = (i - 3) * 3 + 3
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local number = redis.call('INCR', KEYS[1])
    redis.call('SET', KEYS[i], number .. ' ' .. ARGV[at + 1], 'EX', ttl)
    redis.call('ZADD', KEYS[2], ARGV[at + 2], ARGV[at])
    numbers[#numbers + 1] = number
  else
    numbers[#numbers + 1] = 0
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. oldest)
return numbers
`;

/** An event as kept: the order it was recorded in, and what it was. */
const storedEvent = (text: string): RecordedEvent & { sequence: number } => {
  const space = text.indexOf(' ');
  return { ...(JSON.parse(text.slice(space + 1)) as RecordedEvent), sequence: Number(text.slice(0, space)) };
};

/** Lanes live at least as long as an event is retried, then expire if something left them behind. */
const laneTtlSeconds = (retentionMs: number) => Math.ceil(retentionMs / 1000);

export interface EventRecorderDeps {
  redis: Redis;
  prefix: string;
  subscriptions: SubscriptionCache;
  queues: DeliveryQueues;
  retentionMs: number;
  now?: () => number;
}

/**
 * The outbox's door: an event recorded here is in Redis (kept for replay and deduplicated by id) and
 * queued for every subscription that wants it, in its lane's order, before `record` returns.
 */
export function createEventRecorder({ redis, prefix, subscriptions, queues, retentionMs, now = Date.now }: EventRecorderDeps) {
  const keys = webhookKeys(prefix);
  const record = redisScriptOfKeys(redis, 'switchboardRecordEvents', RECORD);

  const fanOut = async (recorded: Array<{ recorded: RecordedEvent; sequence: number }>, wanted: Subscription[]) => {
    const lanes = redis.multi();
    let laned = false;
    const bySubscription = new Map<string, Array<{ jobId: string; data: DeliveryJobData }>>();
    for (const { recorded: each, sequence } of recorded) {
      for (const subscription of wanted) {
        if (!wantsEvent(subscription, each.event.type, each.campaignId)) continue;
        if (each.lane) {
          const lane = keys.lane(subscription.id, each.lane);
          lanes.zadd(lane, sequence, each.event.id).expire(lane, laneTtlSeconds(retentionMs));
          laned = true;
        }
        const list = bySubscription.get(subscription.id) ?? [];
        list.push({ jobId: each.event.id, data: { event: each.event, ...(each.lane && { lane: each.lane }) } });
        bySubscription.set(subscription.id, list);
      }
    }
    if (bySubscription.size === 0) return;
    // The lanes first: a delivery never runs before its place in line is known.
    if (laned) await lanes.exec();
    await Promise.all([...bySubscription].map(([id, deliveries]) => queues.add(id, deliveries)));
  };

  const recorder = {
    async record(events: RecordedEvent[]): Promise<void> {
      if (events.length === 0) return;
      const all = await subscriptions.all();
      if (!all.some((each) => events.some((recorded) => wantsEvent(each, recorded.event.type, recorded.campaignId)))) return;
      const at = now();
      const args: Array<string | number> = [laneTtlSeconds(retentionMs), at - retentionMs];
      for (const each of events) args.push(each.event.id, JSON.stringify(each), Date.parse(each.event.timestamp) || at);
      const numbers = (await record([keys.sequence, keys.events, ...events.map((each) => keys.event(each.event.id))], args)) as number[];
      const fresh = events.flatMap((each, index) => (numbers[index]! > 0 ? [{ recorded: each, sequence: numbers[index]! }] : []));
      await fanOut(fresh, all);
    },
    /** Re-sends recorded events to one subscription, in their original order, under new delivery ids. */
    async replay(subscription: Subscription, ids: string[], replayId: string): Promise<number> {
      const texts = ids.length === 0 ? [] : await redis.mget(ids.map((id) => keys.event(id)));
      const found = texts
        .flatMap((text) => (text ? [storedEvent(text)] : []))
        .filter((each) => wantsEvent({ ...subscription, enabled: true }, each.event.type, each.campaignId))
        .sort((a, b) => a.sequence - b.sequence);
      const lane = `replay:${replayId}`;
      const lanes = redis.multi();
      found.forEach((each, index) => lanes.zadd(keys.lane(subscription.id, lane), index, `${each.event.id}~${replayId}`));
      lanes.expire(keys.lane(subscription.id, lane), laneTtlSeconds(retentionMs));
      if (found.length > 0) await lanes.exec();
      await queues.add(subscription.id, found.map((each) => ({ jobId: `${each.event.id}~${replayId}`, data: { event: each.event, lane } })));
      return found.length;
    },
    /** Event ids recorded between two times (ms), oldest first, at most `limit`. */
    idsBetween: (from: number, to: number, limit: number) => redis.zrangebyscore(keys.events, from, to, 'LIMIT', 0, limit),
    /** A recorded event, while it is kept. */
    async get(id: string): Promise<RecordedEvent | undefined> {
      const text = await redis.get(keys.event(id));
      return text ? storedEvent(text) : undefined;
    },
  };
  return recorder;
}

export type EventRecorder = ReturnType<typeof createEventRecorder>;

/** The call log's rows, as events: one more writer beside the outbox and campaign progress. */
export function createCallEventWriter(recorder: Pick<EventRecorder, 'record'>, subscriptions: Pick<SubscriptionCache, 'wantsCalls'>): CallLogWriter {
  return {
    async write(rows: CallLogRow[]) {
      if (!subscriptions.wantsCalls() || rows.length === 0) return;
      const at = new Date().toISOString();
      await recorder.record(rows.flatMap((row) => callEventsOf(row, at)));
    },
  };
}
