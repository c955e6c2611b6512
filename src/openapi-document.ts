import type { OptOut } from './contact/opt-out.js';
import type { CampaignService } from './campaigns/campaign-service.js';
import type { ContactImport } from './campaigns/contact-import.js';
import type { DncList } from './contact/dnc-list.js';
import type { WebhookService } from './events/webhook-service.js';
import type { ConsoleSnapshot } from './console/console-snapshot.js';
import { systemClock, type ContactGate } from './contact/contact-gate.js';
import type { OutboundAnswer } from './connect/outbound-answer.js';
import type { ContextLookup } from './connect/context-lookup.js';
import type { Queue } from 'bullmq';
import type { RedisConnection as Redis } from './lib/redis.js';
import type { CallJobData } from './jobs/call-jobs.js';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import type { CallRecordStore } from './calls/call-record-store.js';
import type { PriorityNumbers } from './capacity/priority-numbers.js';
import type { CallLifecycle } from './calls/call-lifecycle.js';
import type { CapacityService } from './capacity/capacity-service.js';
import type { InboundService } from './capacity/inbound-service.js';
import type { QueueAdminService } from './calls/queue-admin-service.js';
import type { SchedulingService } from './calls/scheduling-service.js';

/** Stands in for the services while the routes are only described, never called. */
const notCalled = new Proxy({}, {
  get: () => {
    throw new Error('services are not called while the OpenAPI document is generated');
  },
});

/** The OpenAPI document of the routes with their default limits, as `openapi.yaml` publishes it. */
export async function generateOpenApiDocument(): Promise<Record<string, unknown>> {
  const defaults = loadConfig({});
  const app = await buildApp({
    scheduling: notCalled as SchedulingService,
    queueAdmin: notCalled as QueueAdminService,
    redisTakesWrites: async () => false,
    liveWorkers: async () => 0,
    auth: { apiKeys: [], adminApiKeys: [] },
    idempotency: { redis: notCalled as Redis, prefix: 'unused' },
    callQueue: notCalled as Queue<CallJobData>,
    queues: [],
    twilioWebhooks: {
      lifecycle: notCalled as CallLifecycle,
      callRecords: notCalled as CallRecordStore,
      inbound: notCalled as InboundService,
      outboundAnswer: notCalled as OutboundAnswer,
      optOut: notCalled as OptOut,
      authToken: 'unused',
      publicBaseUrl: 'http://127.0.0.1',
    },
    capacity: notCalled as CapacityService,
    callContext: notCalled as ContextLookup,
    dnc: notCalled as DncList,
    webhooks: notCalled as WebhookService,
    console: { snapshot: notCalled as ConsoleSnapshot, sessionMinutes: defaults.CONSOLE_SESSION_MINUTES },
    gate: notCalled as ContactGate,
    clock: systemClock,
    campaigns: { service: notCalled as CampaignService, contactImport: notCalled as ContactImport, redis: notCalled as Redis, prefix: 'unused' },
    priorities: notCalled as PriorityNumbers,
    limits: {
      bulkMaxCalls: defaults.BULK_MAX_CALLS,
      metadataMaxBytes: defaults.METADATA_MAX_BYTES,
      maxScheduleAheadMs: defaults.MAX_SCHEDULE_AHEAD_MS,
      bodyLimitBytes: defaults.BODY_LIMIT_BYTES,
    },
    carrier: defaults.carrier,
  });
  await app.ready();
  const document = JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
  await app.close();
  return document;
}
