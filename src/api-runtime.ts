import { Queue } from 'bullmq';
import { openCallLog } from './call-log/call-log-outbox.js';
import { createSupabaseCallLog } from './call-log/supabase-call-log.js';
import { createCallRecordStore } from './calls/call-record-store.js';
import { connectRedis, createRedis } from './lib/redis.js';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { CALL_LOG_QUEUE_NAME, CALL_QUEUE_NAME, CALL_STATUS_QUEUE_NAME, WORKER_HEARTBEAT_MS, workerHeartbeatKey, callJobPolicy, callRecordTtlSeconds, redialPolicy, type CallJobData } from './jobs/call-jobs.js';
import { createLogger, type Logger } from './logger.js';
import type { Running } from './lib/run-process.js';
import { createDialer, logsCalls, pollsCallStatus } from './carriers/create-carrier.js';
import { createPriorityNumbers } from './capacity/priority-numbers.js';
import { createSimulatedInbound } from './carriers/simulated/simulated-inbound.js';
import { createCallLifecycle } from './calls/call-lifecycle.js';
import { capacityFor } from './capacity/capacity-service.js';
import { createInboundService } from './capacity/inbound-service.js';
import { createQueueAdminService } from './calls/queue-admin-service.js';
import { createSchedulingService } from './calls/scheduling-service.js';

/** Wires the API's parts from configuration. Tests build the same parts with their own Redis. */
export async function createApi(config: Readonly<Config>, logger: Logger | undefined) {
  const log = logger ?? createLogger('silent');
  const redis = await connectRedis(createRedis(config.redisUrl, 'producer', 'api'));
  const callQueue = new Queue<CallJobData>(CALL_QUEUE_NAME, { connection: redis, prefix: config.QUEUE_PREFIX });
  const callRecords = createCallRecordStore(redis, config.QUEUE_PREFIX, callRecordTtlSeconds(config));
  const { callLog, close: closeCallLog } = openCallLog(config, redis, callRecords);
  const dialer = createDialer(config, log, false);
  // The other queues the workers use in this configuration, seen from the API for the dashboard.
  const otherQueues = [...(pollsCallStatus(config, dialer) ? [CALL_STATUS_QUEUE_NAME] : []), ...(logsCalls(config) ? [CALL_LOG_QUEUE_NAME] : [])].map(
    (name) => new Queue(name, { connection: redis, prefix: config.QUEUE_PREFIX }),
  );
  const capacity = capacityFor(config, redis, { callQueue, callRecords, dialer, logger: log });
  const priorities = createPriorityNumbers(redis, config.QUEUE_PREFIX, config.VIP_NUMBERS);

  const app = await buildApp({
    scheduling: createSchedulingService({
      callQueue,
      policy: callJobPolicy(config),
      limits: { maxScheduleAheadMs: config.MAX_SCHEDULE_AHEAD_MS, recurringMinIntervalSeconds: config.RECURRING_MIN_INTERVAL_SECONDS },
      callLog,
    }),
    queueAdmin: createQueueAdminService({ callQueue, callRecords, redis }),
    auth: { apiKeys: config.API_KEYS, adminApiKeys: config.ADMIN_API_KEYS },
    idempotency: { redis, prefix: config.QUEUE_PREFIX },
    rateLimit: { redis, prefix: config.QUEUE_PREFIX, max: config.API_RATE_LIMIT_MAX, windowMs: config.API_RATE_LIMIT_WINDOW_MS },
    callQueue,
    queues: [callQueue, ...otherQueues],
    liveWorkers: () => redis.zcount(workerHeartbeatKey(config.QUEUE_PREFIX), String(Date.now() - 3 * WORKER_HEARTBEAT_MS), '+inf'),
    pingRedis: async () => redis.status === 'ready' && (await redis.ping().catch(() => '')) === 'PONG',
    twilioWebhooks: {
      lifecycle: createCallLifecycle({ callRecords, callQueue, jobPolicy: callJobPolicy(config), redialDefaults: redialPolicy(config), callLog, capacity, logger: log }),
      callRecords,
      inbound: createInboundService({
        capacity,
        priorities,
        options: {
          agentTarget: config.AGENT_DIAL_TARGET,
          queueName: config.TWILIO_QUEUE_NAME,
          holdMusicUrl: config.HOLD_MUSIC_URL,
          callbackThresholdSeconds: config.CALLBACK_THRESHOLD_SECONDS,
        },
        logger: log,
      }),
      authToken: config.webhookAuthToken,
      // Without PUBLIC_URL nothing from outside can be verified; loopback callers still can be.
      publicBaseUrl: config.callbackBaseUrl ?? `http://127.0.0.1:${config.PORT}`,
    },
    capacity,
    priorities,
    ...(config.carrier === 'simulated' && {
      simulator: createSimulatedInbound({
        baseUrl: config.callbackBaseUrl ?? `http://127.0.0.1:${config.PORT}`,
        authToken: config.webhookAuthToken,
        timeScale: config.SIMULATED_TIME_SCALE,
        queueName: config.TWILIO_QUEUE_NAME,
        logger: log,
      }),
    }),
    ...(config.AGENT_WEBHOOK_SECRET && { agentWebhookSecret: config.AGENT_WEBHOOK_SECRET }),
    limits: {
      bulkMaxCalls: config.BULK_MAX_CALLS,
      metadataMaxBytes: config.METADATA_MAX_BYTES,
      maxScheduleAheadMs: config.MAX_SCHEDULE_AHEAD_MS,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
    },
    carrier: config.carrier,
    ...(config.SUPABASE_URL &&
      config.SUPABASE_SERVICE_ROLE_KEY && { callHistory: createSupabaseCallLog({ url: config.SUPABASE_URL, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY }) }),
    ...(logger && { logger }),
  });

  return {
    app,
    callQueue,
    capacity,
    async close() {
      await app.close();
      await Promise.all([callQueue.close(), ...otherQueues.map((queue) => queue.close()), closeCallLog()]);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Builds the API and listens on HOST:PORT. */
export async function startApi(config: Readonly<Config>, logger: Logger): Promise<Running> {
  const api = await createApi(config, logger);
  if (!config.authRequired) logger.warn(`No API keys are set: the API serves ${config.HOST} only, with no authentication. Set API_KEYS and ADMIN_API_KEYS to serve other machines.`);
  await api.app.listen({ host: config.HOST, port: config.PORT });
  return api;
}
