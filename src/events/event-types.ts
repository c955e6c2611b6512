import { z } from 'zod';

/** Every event a subscriber may ask for, by the name it is sent under. */
export const CALL_EVENT_TYPES = [
  'call.scheduled',
  'call.deferred',
  'call.blocked',
  'call.dialing',
  'call.ringing',
  'call.answered',
  'call.completed',
  'call.failed',
  'call.cancelled',
  'call.redial_scheduled',
] as const;
export const CAMPAIGN_EVENT_TYPES = ['campaign.started', 'campaign.paused', 'campaign.resumed', 'campaign.completed', 'campaign.cancelled'] as const;
export const EVENT_TYPES = [...CALL_EVENT_TYPES, 'callback.requested', ...CAMPAIGN_EVENT_TYPES, 'dnc.added'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export type CallEventType = (typeof CALL_EVENT_TYPES)[number];
export type CampaignEventType = (typeof CAMPAIGN_EVENT_TYPES)[number];

const time = z.string().meta({ format: 'date-time' });
const nullableText = z.string().nullable();

/** What every call event carries: the job, the call, the lead and campaign it concerns, and the request's metadata. */
const callFields = {
  jobId: z.string().describe('The call job (GET /api/queue/job/{jobId})'),
  attempt: z.number().int().describe('Which attempt of the job (1 first)'),
  callSid: nullableText.describe('Twilio\'s call SID, once the call was placed'),
  leadId: nullableText.describe('The lead_id the call was scheduled with'),
  campaignId: nullableText,
  contactId: nullableText.describe('The campaign contact (its contactId, or its number)'),
  to: z.string().describe('E.164'),
  from: nullableText,
  priority: z.string(),
  connect: z.string().describe('say, agent or stream'),
  rootJobId: nullableText.describe('The first job of a chain of redials'),
  redialNumber: z.number().int().describe('0 for the first call, then one more per redial'),
  metadata: z.record(z.string(), z.unknown()).nullable().describe('The metadata the call was scheduled with'),
};

const callData = <Shape extends z.ZodRawShape>(shape: Shape) => z.object({ ...callFields, ...shape });

const campaignData = z.object({
  campaignId: z.string(),
  name: nullableText,
  state: z.string().describe('The campaign\'s state after the change'),
  metadata: z.record(z.string(), z.unknown()).nullable(),
});

/** The data of each event type; the envelope is the same for all. */
export const EVENT_DATA = {
  'call.scheduled': callData({ scheduledAt: time.nullable().describe('When it is due (null: now)') }),
  'call.deferred': callData({ reason: z.string().describe('Why the gate held it back: outside-window, blackout-date, frequency-cap, min-gap…'), until: time }),
  'call.blocked': callData({ reason: z.string().describe('Why it will never be dialed: dnc, expired…') }),
  'call.dialing': callData({ dialedAt: time }),
  'call.ringing': callData({ at: time }),
  'call.answered': callData({ at: time, answeredBy: nullableText.describe('human, machine_start, fax… when answering-machine detection ran') }),
  'call.completed': callData({
    outcome: z.string().describe('completed, busy, no-answer, canceled, voicemail-left or machine-hangup'),
    status: z.string().describe('Twilio\'s final status'),
    durationSeconds: z.number().nullable(),
    answeredBy: nullableText,
    recordingUrl: nullableText.describe('The call\'s recordings at Twilio, when the call was recorded'),
    endedAt: time.nullable(),
  }),
  'call.failed': callData({
    status: z.string().describe('dial-failed (the attempt will be retried), error (it will not), or failed (Twilio\'s final status)'),
    willRetry: z.boolean(),
    errorCode: nullableText.describe('Twilio\'s error code'),
    errorMessage: nullableText,
    sipResponseCode: z.number().int().nullable(),
  }),
  'call.cancelled': callData({}),
  'call.redial_scheduled': callData({ redialOf: nullableText.describe('The job whose outcome asked for this redial'), scheduledAt: time.nullable() }),
  'callback.requested': z.object({
    callSid: z.string().describe('The waiting caller\'s call'),
    from: nullableText.describe('The number that will be called back'),
    priority: z.string(),
    position: z.number().int().nullable().describe('Their place in the line, which they keep'),
  }),
  'campaign.started': campaignData,
  'campaign.paused': campaignData,
  'campaign.resumed': campaignData,
  'campaign.completed': campaignData,
  'campaign.cancelled': campaignData,
  'dnc.added': z.object({
    entries: z
      .array(z.object({ number: z.string().describe('A number, or a prefix ending in *'), reason: nullableText, source: z.string(), expiresAt: time.nullable() }))
      .describe('One entry, or the new entries of one chunk of an import'),
  }),
} satisfies Record<EventType, z.ZodObject>;

export type EventData<Type extends EventType> = z.infer<(typeof EVENT_DATA)[Type]>;

/** What a receiver gets: the Standard Webhooks shape (type, timestamp, data) with the event's own id. */
export const eventEnvelope = <Type extends EventType>(type: Type) =>
  z.object({
    id: z.string().describe('Stable: the same in every retry and replay (also the webhook-id header)'),
    type: z.literal(type),
    timestamp: time.describe('When the change happened'),
    data: EVENT_DATA[type],
  });

export type WebhookEvent = { [Type in EventType]: { id: string; type: Type; timestamp: string; data: EventData<Type> } }[EventType];

/**
 * Where an event stands in line: events of one lane are delivered in the order they were recorded
 * (a call's events by its chain of redials; a campaign's by the campaign); events with no lane go
 * as soon as they can.
 */
export interface RecordedEvent {
  event: WebhookEvent;
  lane?: string;
  campaignId?: string;
}
