import { Queue } from 'bullmq';
import type { RedisConnection } from './lib/redis.js';
import { openCallLog } from './call-log/call-log-outbox.js';
import { createCallActivity } from './calls/call-activity.js';
import { createCallLifecycle } from './calls/call-lifecycle.js';
import { createCallRecordStore } from './calls/call-record-store.js';
import { createQueueAdminService } from './calls/queue-admin-service.js';
import { createSchedulingService } from './calls/scheduling-service.js';
import { createCapacity } from './capacity/create-capacity.js';
import type { Carrier } from './carriers/carrier.js';
import { createCarrier, logsCalls, pollsCallStatus } from './carriers/create-carrier.js';
import type { Config } from './config.js';
import {
  CALL_LOG_QUEUE_NAME,
  CALL_QUEUE_NAME,
  CALL_STATUS_QUEUE_NAME,
  callJobPolicy,
  callRecordTtlSeconds,
  redialPolicy,
  type CallJobData,
  type TrackCallData,
} from './jobs/call-jobs.js';
import type { Logger } from './logger.js';
import { replicaAcknowledgement, replicationPolicy } from './lib/redis-replication.js';
import { connectSettings } from './connect/connect-settings.js';
import { createOutboundAnswer } from './connect/outbound-answer.js';
import { processMetrics } from './metrics.js';
import { createContactGate, systemClock, type Clock } from './contact/contact-gate.js';
import { contactRules } from './contact/contact-settings.js';
import { createContactStore } from './contact/contact-store.js';
import { createCampaignFeeder } from './campaigns/campaign-feeder.js';
import { createCampaignProgress } from './campaigns/campaign-progress.js';
import { createCampaignService } from './campaigns/campaign-service.js';
import { createCampaignStore } from './campaigns/campaign-store.js';
import { createCampaignSweeps } from './campaigns/campaign-sweeps.js';
import { createContactImport } from './campaigns/contact-import.js';
import { createContactList } from './campaigns/contact-list.js';
import { createRedis } from './lib/redis.js';
import { callbackEvent, campaignEvent, dncEvent } from './events/announcements.js';
import { createDeliveryQueues } from './events/delivery-queue.js';
import { createCallEventWriter, createEventRecorder } from './events/event-recorder.js';
import { createSubscriptionCache } from './events/subscription-cache.js';
import { CAMPAIGN_EVENT_TYPES } from './events/event-types.js';
import { createSubscriptionStore } from './events/subscription-store.js';
import type { CampaignEvents } from './campaigns/campaign-definition.js';

export interface CoreParts {
  /** The connection every part shares: a producer's in the API, a consumer's in a worker. */
  redis: RedisConnection;
  logger: Logger;
  /** The carrier; by default the one configuration names, built without announcing itself. */
  dialer?: Carrier;
  /** The service's clock: the system's, unless a test runs it elsewhere or faster. */
  clock?: Clock;
}

/**
 * The domain, wired once from configuration: what the API and every worker process share. The
 * caller owns the Redis connection; `close` ends the queues, the call log and the carrier.
 */
export function createCore(config: Readonly<Config>, { redis, logger, dialer = createCarrier(config, logger, false), clock = systemClock }: CoreParts) {
  const queueOptions = { connection: redis, prefix: config.QUEUE_PREFIX };
  const callQueue = new Queue<CallJobData>(CALL_QUEUE_NAME, queueOptions);
  // Present only when this configuration uses them: status polls without callbacks, the outbox with Supabase.
  const callStatusQueue = pollsCallStatus(config, dialer) ? new Queue<TrackCallData>(CALL_STATUS_QUEUE_NAME, queueOptions) : undefined;
  const callLogQueue = logsCalls(config) ? new Queue(CALL_LOG_QUEUE_NAME, queueOptions) : undefined;

  const replicas = replicaAcknowledgement(redis, replicationPolicy(config), config.QUEUE_PREFIX);
  const callRecords = createCallRecordStore(redis, config.QUEUE_PREFIX, callRecordTtlSeconds(config), replicas);

  const subscriptionStore = createSubscriptionStore(redis, config.QUEUE_PREFIX);
  const subscriptions = createSubscriptionCache(subscriptionStore, () => createRedis(config.redis, 'consumer', 'webhook-changes'), logger);
  const deliveryQueues = createDeliveryQueues(redis, config.QUEUE_PREFIX, config.EVENTS_RETENTION_MS);
  const events = createEventRecorder({ redis, prefix: config.QUEUE_PREFIX, subscriptions, queues: deliveryQueues, retentionMs: config.EVENTS_RETENTION_MS });
  const campaignEvents: CampaignEvents = {
    wanted: () => subscriptions.wantsAny(CAMPAIGN_EVENT_TYPES),
    async changed(campaign, from, to) {
      const event = campaignEvent(campaign, from, to);
      if (event) await events.record([event]);
    },
  };

  // Campaign calls' rows also keep their campaign's counts, Supabase or not; every call's rows become events when someone subscribes.
  const { callLog, close: closeCallLog } = openCallLog(
    config,
    redis,
    callRecords,
    { writer: createCampaignProgress(redis, config.QUEUE_PREFIX), wants: (data) => data.campaignId !== undefined || subscriptions.wantsCalls() },
    createCallEventWriter(events, subscriptions),
  );
  const { capacity, inbound, priorities } = createCapacity(config, redis, {
    callQueue,
    callRecords,
    dialer,
    logger,
    callbackRequested: (caller) => events.record([callbackEvent(caller)]),
  });
  const jobPolicy = callJobPolicy(config);
  const activity = createCallActivity(redis, config.QUEUE_PREFIX);
  const connect = connectSettings(config);
  const contactStore = createContactStore(redis, config.QUEUE_PREFIX, (entries) => events.record([dncEvent(entries)]));
  const gate = createContactGate({ store: contactStore, defaults: contactRules(config), clock });
  const campaignStore = createCampaignStore(redis, config.QUEUE_PREFIX);
  const campaignSweeps = createCampaignSweeps({ redis, prefix: config.QUEUE_PREFIX, callQueue, callLog, campaigns: campaignStore, logger });
  const campaigns = createCampaignService({
    redis,
    prefix: config.QUEUE_PREFIX,
    store: campaignStore,
    contacts: createContactList(redis, config.QUEUE_PREFIX),
    sweeps: campaignSweeps,
    callQueue,
    connect,
    ...(config.SUPABASE_URL && { logAppended: callLog }),
    events: campaignEvents,
    logger,
  });

  return {
    callQueue,
    callStatusQueue,
    /** Every queue this configuration uses, for the dashboard. */
    queues: [callQueue, ...(callStatusQueue ? [callStatusQueue] : []), ...(callLogQueue ? [callLogQueue] : [])] as Queue[],
    callRecords,
    callLog,
    dialer,
    capacity,
    priorities,
    activity,
    lifecycle: createCallLifecycle({ callRecords, callQueue, jobPolicy, redialDefaults: redialPolicy(config), callLog, capacity, activity, logger }),
    inbound,
    connect,
    clock,
    contactStore,
    gate,
    outboundAnswer: createOutboundAnswer({ callQueue, callRecords, capacity, dialer, callLog, settings: connect, metrics: processMetrics(), logger }),
    scheduling: createSchedulingService({
      callQueue,
      policy: jobPolicy,
      limits: { maxScheduleAheadMs: config.MAX_SCHEDULE_AHEAD_MS, recurringMinIntervalSeconds: config.RECURRING_MIN_INTERVAL_SECONDS },
      callLog,
      connect,
      window: { gate, clock, callRecords, metrics: processMetrics() },
      replicas,
    }),
    queueAdmin: createQueueAdminService({ callQueue, callRecords, redis, callLog }),
    campaigns,
    /** Events to subscribers: who wants what, and the outbox every change is recorded in. */
    webhooks: { store: subscriptionStore, subscriptions, events, deliveryQueues },
    contactImport: createContactImport(redis, config.QUEUE_PREFIX, campaigns),
    campaignFeeder: createCampaignFeeder(
      { redis, prefix: config.QUEUE_PREFIX, callQueue, policy: jobPolicy, callLog, campaigns: campaignStore, expireRest: campaignSweeps.expireRest, events: campaignEvents, logger },
      { hopperSize: config.campaignHopperSize, maxConcurrentCalls: config.MAX_CONCURRENT_CALLS, completeGraceMs: 3_000, staleFeedingMs: 30_000 },
    ),

    async close() {
      // The carrier first: a simulated one plays its calls in flight to their end.
      await dialer.close?.();
      await Promise.all([callQueue.close(), callStatusQueue?.close(), callLogQueue?.close(), closeCallLog(), subscriptions.close(), deliveryQueues.close()]);
    },
  };
}

export type Core = ReturnType<typeof createCore>;
