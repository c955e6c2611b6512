import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Queue } from 'bullmq';
import type { CallJobData } from './jobs/call-jobs.js';
import { authPlugin, routeScope, type AuthOptions } from './plugins/auth.js';
import { dashboard } from './plugins/dashboard.js';
import { rateLimitPlugin, type RateLimitOptions } from './plugins/rate-limit.js';
import type { IdempotencyOptions } from './plugins/idempotency.js';
import { errorHandlerPlugin, sendError } from './plugins/error-handler.js';
import { swaggerPlugin, swaggerUiPlugin } from './plugins/swagger.js';
import type { CallLogTable } from './call-log/call-log-table.js';
import { processMetrics } from './metrics.js';
import { callsRoutes } from './routes/calls/calls.routes.js';
import { metricsRoutes } from './routes/metrics.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import type { CallSchemaLimits } from './routes/queue/call.schemas.js';
import { jobsRoutes } from './routes/queue/jobs.routes.js';
import { queueRoutes } from './routes/queue/queue.routes.js';
import { recurringRoutes } from './routes/queue/recurring.routes.js';
import { scheduleRoutes } from './routes/queue/schedule.routes.js';
import type { PriorityNumbers } from './capacity/priority-numbers.js';
import type { SimulatedInbound } from './carriers/simulated/simulated-inbound.js';
import type { SimulatedAgent } from './carriers/simulated/simulated-agent.js';
import type { ContextLookup } from './connect/context-lookup.js';
import type { Clock, ContactGate } from './contact/contact-gate.js';
import type { DncList } from './contact/dnc-list.js';
import { contactabilityRoutes } from './routes/contact/contactability.routes.js';
import { dncRoutes } from './routes/contact/dnc.routes.js';
import { capacityRoutes } from './routes/capacity/capacity.routes.js';
import { simulatorRoutes } from './routes/simulator/simulator.routes.js';
import { SIMULATOR_PREFIX, TWILIO_WEBHOOK_PREFIX } from './carriers/twilio/webhook-paths.js';
import { agentRoutes } from './routes/webhooks/agent.routes.js';
import { twilioWebhooks, type TwilioWebhookOptions } from './routes/webhooks/twilio-webhooks.js';
import type { CapacityService } from './capacity/capacity-service.js';
import type { CampaignService } from './campaigns/campaign-service.js';
import type { ContactImport } from './campaigns/contact-import.js';
import { campaignRoutes } from './routes/campaigns/campaigns.routes.js';
import { webhookRoutes } from './routes/events/webhooks.routes.js';
import { consoleRoutes } from './routes/console/console.routes.js';
import { consolePageRoutes } from './routes/console/console-pages.routes.js';
import { consoleSessionPlugin } from './plugins/console-session.js';
import type { ConsoleSnapshot } from './console/console-snapshot.js';
import type { WebhookService } from './events/webhook-service.js';
import { contactRoutes } from './routes/campaigns/contacts.routes.js';
import type { RedisConnection } from './lib/redis.js';
import type { QueueAdminService } from './calls/queue-admin-service.js';
import type { SchedulingService } from './calls/scheduling-service.js';

export interface AppDeps {
  scheduling: SchedulingService;
  queueAdmin: QueueAdminService;
  redisTakesWrites: () => Promise<boolean>;
  liveWorkers: () => Promise<number>;
  /** No keys at all: every route open (the API then serves loopback only). */
  auth: AuthOptions;
  idempotency: IdempotencyOptions;
  /** Requests per key on /api; none when absent (the OpenAPI document is built without it). */
  rateLimit?: RateLimitOptions;
  callQueue: Queue<CallJobData>;
  /** Every queue, for the dashboard at /admin/queues. */
  queues: Queue[];
  twilioWebhooks: TwilioWebhookOptions;
  capacity: CapacityService;
  priorities: PriorityNumbers;
  agentWebhookSecret?: string;
  /** The simulated carrier's inbound callers, when there is no Twilio account. */
  simulator?: SimulatedInbound;
  /** The Supabase call log, when logging is on. */
  callHistory?: CallLogTable;
  /** The lead's context of an outbound call, by its CallSid. */
  callContext: ContextLookup;
  /** The do-not-call list, and the gate that explains whether a number may be called. */
  dnc: DncList;
  /** Event subscriptions, their deliveries and replays. */
  webhooks: WebhookService;
  /** The operator console: its live state, and its login sessions (CONSOLE_SESSION_SECRET, CONSOLE_SESSION_MINUTES). */
  console: { snapshot: ConsoleSnapshot; sessionSecret?: string; sessionMinutes: number };
  gate: Pick<ContactGate, 'explain'>;
  clock: Clock;
  /** Campaigns, their CSV imports, and where their results are read from. */
  campaigns: { service: CampaignService; contactImport: ContactImport; redis: RedisConnection; prefix: string };
  /** The built-in voice agent of the simulated carrier, when no agent is configured. */
  simulatedAgent?: SimulatedAgent;
  limits: CallSchemaLimits & { bodyLimitBytes: number };
  carrier: string;
  logger?: FastifyBaseLogger;
}

/** Builds the HTTP app from its parts. It never listens, reads the environment or traps signals. */
export async function buildApp(deps: AppDeps) {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: deps.limits.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    frameworkErrors: sendError,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // The API speaks JSON only: any other body gets a 415 rather than a confusing validation error.
  app.removeContentTypeParser('text/plain');

  await app.register(errorHandlerPlugin);
  const metrics = processMetrics();
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { route: request.routeOptions.url ?? 'unknown', method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  await app.register(consoleSessionPlugin, { minutes: deps.console.sessionMinutes, ...(deps.console.sessionSecret && { secret: deps.console.sessionSecret }) });
  await app.register(authPlugin, deps.auth);
  if (deps.rateLimit) await app.register(rateLimitPlugin, deps.rateLimit);
  await app.register(swaggerPlugin);

  // Access is declared per group of routes (a route may narrow it); a route of no group is admin-only.
  await app.register(async (open) => {
    open.addHook('onRoute', routeScope('open'));
    await open.register(swaggerUiPlugin);
    await open.register(consolePageRoutes);
    await open.register(healthRoutes, { redisTakesWrites: deps.redisTakesWrites, liveWorkers: deps.liveWorkers, carrier: deps.carrier, capacity: deps.capacity });
  });
  await app.register(async (admin) => {
    admin.addHook('onRoute', routeScope('admin'));
    await admin.register(dashboard, { queues: deps.queues });
    await admin.register(webhookRoutes, { webhooks: deps.webhooks, prefix: '/api' });
  });
  await app.register(async (api) => {
    api.addHook('onRoute', routeScope('key'));
    await api.register(metricsRoutes, { queueAdmin: deps.queueAdmin, capacity: deps.capacity });
    await api.register(
      async (queue) => {
        await queue.register(scheduleRoutes, { scheduling: deps.scheduling, limits: deps.limits, idempotency: deps.idempotency });
        await queue.register(jobsRoutes, { queueAdmin: deps.queueAdmin });
        await queue.register(queueRoutes, { queueAdmin: deps.queueAdmin });
        await queue.register(recurringRoutes, { queueAdmin: deps.queueAdmin });
      },
      { prefix: '/api/queue' },
    );
    await api.register(callsRoutes, { callHistory: deps.callHistory, callContext: deps.callContext, prefix: '/api' });
    await api.register(capacityRoutes, { capacity: deps.capacity, priorities: deps.priorities, prefix: '/api' });
    await api.register(dncRoutes, { dnc: deps.dnc, prefix: '/api' });
    await api.register(contactabilityRoutes, { gate: deps.gate, clock: deps.clock, prefix: '/api' });
    await api.register(consoleRoutes, { snapshot: deps.console.snapshot, prefix: '/api' });
    await api.register(campaignRoutes, { campaigns: deps.campaigns.service, redis: deps.campaigns.redis, keyPrefix: deps.campaigns.prefix, limits: deps.limits, prefix: '/api' });
    await api.register(contactRoutes, { campaigns: deps.campaigns.service, contactImport: deps.campaigns.contactImport, limits: deps.limits, prefix: '/api' });
    await api.register(simulatorRoutes, {
      simulator: deps.simulator,
      simulatedAgent: deps.simulatedAgent,
      authToken: deps.twilioWebhooks.authToken,
      publicBaseUrl: deps.twilioWebhooks.publicBaseUrl,
      prefix: SIMULATOR_PREFIX,
    });
  });
  await app.register(async (signed) => {
    signed.addHook('onRoute', routeScope('signed'));
    await signed.register(twilioWebhooks, { ...deps.twilioWebhooks, prefix: TWILIO_WEBHOOK_PREFIX });
    await signed.register(agentRoutes, { capacity: deps.capacity, secret: deps.agentWebhookSecret, prefix: '/webhooks/agent' });
  });

  const simulatedAgent = deps.simulatedAgent;
  if (simulatedAgent) {
    // Media Streams arrive as WebSocket upgrades, which no HTTP route sees; any other upgrade is refused.
    app.server.on('upgrade', (request, socket, head) => {
      if (!simulatedAgent.handleUpgrade(request, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    app.addHook('onClose', () => simulatedAgent.close());
  }

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
