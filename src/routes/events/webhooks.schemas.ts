import { z } from 'zod';
import { EVENT_TYPES } from '../../events/event-types.js';
import { urlProblem } from '../../events/destination-guard.js';
import { isoTimeInputSchema, isoTimeSchema } from '../shared/common.schemas.js';

export const webhookIdParams = z.object({ id: z.string().min(1).max(64).describe('The subscription id (whk_…, or env)') });

const webhookUrl = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `url ${problem}` });
  })
  .meta({ description: 'Where events are POSTed: http(s); private, loopback and link-local addresses are refused in production', example: 'https://crm.example.com/hooks/switchboard' });

const eventTypes = z
  .array(z.enum(EVENT_TYPES))
  .min(1)
  .max(EVENT_TYPES.length)
  .nullable()
  .meta({ description: 'The event types wanted; null or absent: every type', example: ['call.completed', 'call.failed'] });

const campaignFilter = z.string().min(1).max(64).nullable().describe('Only this campaign\'s events (its calls and its changes of state); null: all');
const description = z.string().max(500).nullable();

export const createWebhookBody = z.strictObject({
  url: webhookUrl,
  eventTypes: eventTypes.optional(),
  campaignId: campaignFilter.optional(),
  description: description.optional(),
  enabled: z.boolean().optional(),
});

export const updateWebhookBody = z
  .strictObject({ url: webhookUrl.optional(), eventTypes: eventTypes.optional(), campaignId: campaignFilter.optional(), description: description.optional(), enabled: z.boolean().optional().describe('true re-enables a disabled subscription') })
  .refine((value) => Object.keys(value).length > 0, 'name at least one field to change');

export const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()).nullable(),
    campaignId: z.string().nullable(),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable().describe('Why deliveries stopped: the receiver answered 410, every delivery failed for EVENTS_DISABLE_AFTER_MS, or the API'),
    disabledAt: isoTimeSchema.nullable(),
    source: z.enum(['api', 'env']),
    createdAt: isoTimeSchema,
    updatedAt: isoTimeSchema,
    previousSecretUntil: isoTimeSchema.nullable().describe('Until then, events are also signed with the secret before the last rotation'),
    failingSince: isoTimeSchema.nullable(),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'WebhookSubscription' });

export const webhookResponse = z.object({ success: z.literal(true), webhook: webhookSchema });
export const webhookWithSecretResponse = z.object({
  success: z.literal(true),
  webhook: webhookSchema,
  secret: z.string().describe('The signing secret (whsec_…), shown this once: verify webhook-signature with it'),
});

export const deliveriesQuery = z.object({
  eventId: z.string().max(64).optional(),
  result: z.enum(['delivered', 'retrying', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const deliveriesResponse = z.object({
  success: z.literal(true),
  deliveries: z.array(
    z
      .object({
        eventId: z.string(),
        type: z.string(),
        attempt: z.number().int(),
        at: isoTimeSchema,
        statusCode: z.number().int().nullable(),
        latencyMs: z.number(),
        error: z.string().nullable(),
        result: z.enum(['delivered', 'retrying', 'failed']),
        nextAttemptAt: isoTimeSchema.nullable(),
      })
      .meta({ id: 'WebhookDelivery' }),
  ),
});

export const replayBody = z
  .strictObject({
    eventIds: z.array(z.string().min(1).max(64)).min(1).max(1000).optional(),
    from: isoTimeInputSchema.optional().describe('Events that happened at or after this time'),
    to: isoTimeInputSchema.optional().describe('…and at or before this one (default now)'),
  })
  .refine((value) => value.eventIds !== undefined || value.from !== undefined, 'name eventIds, or a time range from (and to)')
  .refine((value) => !(value.eventIds && (value.from || value.to)), 'name eventIds or a time range, not both')
  .refine((value) => !value.from || !value.to || Date.parse(value.from) <= Date.parse(value.to), 'from must not be after to');

export const replayResponse = z.object({
  success: z.literal(true),
  replayId: z.string(),
  replayed: z.number().int().describe('Events queued again (those still kept, that the subscription wants)'),
  truncated: z.boolean().describe('More events were in the range than one replay sends (10,000)'),
  enabled: z.boolean().describe('false: the subscription is disabled, and they are sent once it is enabled'),
});
