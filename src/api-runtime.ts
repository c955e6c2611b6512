import { createCallLogTable } from './call-log/call-log-table.js';
import { createSimulatedInbound } from './carriers/simulated/simulated-inbound.js';
import { createSimulatedAgent } from './carriers/simulated/simulated-agent.js';
import { createContextLookup } from './connect/context-lookup.js';
import { createDncList } from './contact/dnc-list.js';
import { createWebhookService } from './events/webhook-service.js';
import { createConsoleSnapshot } from './console/console-snapshot.js';
import { createOptOut } from './contact/opt-out.js';
import type { Clock } from './contact/contact-gate.js';
import { connectRedis, createRedis, type RedisConnection } from './lib/redis.js';
import { healthProbeKey, redisAcceptsWrites } from './lib/redis-write-probe.js';
import type { Running } from './lib/run-process.js';
import { buildApp, type AppDeps } from './app.js';
import type { Config } from './config.js';
import { createCore, type Core } from './core.js';
import { WORKER_HEARTBEAT_MS, workerHeartbeatKey } from './jobs/call-jobs.js';
import { createLogger, type Logger } from './logger.js';

/** What the HTTP app is given: the domain's services, and the API's own settings from configuration. */
function appDeps(config: Readonly<Config>, core: Core, redis: RedisConnection, logger: Logger | undefined): AppDeps {
  const dnc = createDncList(core.contactStore, () => core.clock.now());
  return {
    scheduling: core.scheduling,
    queueAdmin: core.queueAdmin,
    auth: { apiKeys: config.API_KEYS, adminApiKeys: config.ADMIN_API_KEYS },
    idempotency: { redis, prefix: config.QUEUE_PREFIX },
    rateLimit: { redis, prefix: config.QUEUE_PREFIX, max: config.API_RATE_LIMIT_MAX, windowMs: config.API_RATE_LIMIT_WINDOW_MS },
    callQueue: core.callQueue,
    queues: core.queues,
    liveWorkers: () => redis.zcount(workerHeartbeatKey(config.QUEUE_PREFIX), String(Date.now() - 3 * WORKER_HEARTBEAT_MS), '+inf'),
    redisTakesWrites: () => redisAcceptsWrites(redis, healthProbeKey(config.QUEUE_PREFIX, 'api')),
    twilioWebhooks: {
      lifecycle: core.lifecycle,
      callRecords: core.callRecords,
      inbound: core.inbound,
      outboundAnswer: core.outboundAnswer,
      optOut: createOptOut({ callQueue: core.callQueue, dnc, digit: config.OPT_OUT_DIGIT, confirmation: config.OPT_OUT_CONFIRMATION, logger: logger ?? createLogger('silent') }),
      authToken: config.webhookAuthToken,
      publicBaseUrl: config.apiBaseUrl,
    },
    capacity: core.capacity,
    priorities: core.priorities,
    ...(config.carrier === 'simulated' && {
      simulator: createSimulatedInbound({
        baseUrl: config.apiBaseUrl,
        authToken: config.webhookAuthToken,
        timeScale: config.SIMULATED_TIME_SCALE,
        queueName: config.TWILIO_QUEUE_NAME,
        logger: logger ?? createLogger('silent'),
      }),
    }),
    // The built-in agent takes the calls of an unconfigured agent: bridged ones always, streamed ones without AGENT_STREAM_URL.
    ...(config.carrier === 'simulated' && {
      simulatedAgent: createSimulatedAgent({
        apiBaseUrl: config.apiBaseUrl,
        authToken: config.webhookAuthToken,
        ...(config.AGENT_WEBHOOK_SECRET && { endOfCallSecret: config.AGENT_WEBHOOK_SECRET }),
        logger: logger ?? createLogger('silent'),
      }),
    }),
    callContext: createContextLookup({ callRecords: core.callRecords, callQueue: core.callQueue }),
    dnc,
    webhooks: createWebhookService({
      redis,
      prefix: config.QUEUE_PREFIX,
      store: core.webhooks.store,
      subscriptions: core.webhooks.subscriptions,
      events: core.webhooks.events,
      queues: core.webhooks.deliveryQueues,
      allowPrivate: config.eventsAllowPrivate,
    }),
    gate: core.gate,
    console: {
      snapshot: createConsoleSnapshot({ capacity: core.capacity, queueAdmin: core.queueAdmin, callQueue: core.callQueue, callRecords: core.callRecords, campaigns: core.campaigns, activity: core.activity }),
      sessionMinutes: config.CONSOLE_SESSION_MINUTES,
      ...(config.CONSOLE_SESSION_SECRET && { sessionSecret: config.CONSOLE_SESSION_SECRET }),
    },
    campaigns: { service: core.campaigns, contactImport: core.contactImport, redis, prefix: config.QUEUE_PREFIX },
    clock: core.clock,
    ...(config.AGENT_WEBHOOK_SECRET && { agentWebhookSecret: config.AGENT_WEBHOOK_SECRET }),
    limits: {
      bulkMaxCalls: config.BULK_MAX_CALLS,
      metadataMaxBytes: config.METADATA_MAX_BYTES,
      maxScheduleAheadMs: config.MAX_SCHEDULE_AHEAD_MS,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
    },
    carrier: config.carrier,
    ...(config.SUPABASE_URL &&
      config.SUPABASE_SERVICE_ROLE_KEY && { callHistory: createCallLogTable({ url: config.SUPABASE_URL, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY }) }),
    ...(logger && { logger }),
  };
}

/** The API on a fail-fast connection of its own, not yet listening. Tests build it with their own Redis. */
export async function createApi(config: Readonly<Config>, logger: Logger | undefined, clock?: Clock) {
  const redis = await connectRedis(createRedis(config.redis, 'producer', 'api'));
  const core = createCore(config, { redis, logger: logger ?? createLogger('silent'), ...(clock && { clock }) });
  await core.webhooks.store.syncEnv(config.EVENTS_WEBHOOK_URL, config.EVENTS_WEBHOOK_SECRET);
  await core.webhooks.subscriptions.ready();
  const app = await buildApp(appDeps(config, core, redis, logger));
  return {
    app,
    core,
    callQueue: core.callQueue,
    async close() {
      await app.close();
      await core.close();
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
