import { z } from 'zod';
import { EVENT_TYPES, eventEnvelope, type EventType } from './event-types.js';

const SUMMARIES: Record<EventType, string> = {
  'call.scheduled': 'A call was accepted and queued',
  'call.deferred': 'The contactability gate held a call back until a time (calling window, caps, blackout)',
  'call.blocked': 'A call will never be dialed (do-not-call, expired)',
  'call.dialing': 'A dial request for the call is going to Twilio',
  'call.ringing': 'The callee\'s phone is ringing',
  'call.answered': 'The call was answered (by a person or a machine)',
  'call.completed': 'The call ended: its outcome, duration, who answered, its recordings',
  'call.failed': 'A dial failed (with Twilio\'s code), or the call failed',
  'call.cancelled': 'A campaign\'s call was cancelled before it was dialed',
  'call.redial_scheduled': 'An outcome asked for a redial, now queued as its own job',
  'callback.requested': 'A waiting inbound caller asked to be called back; they keep their place',
  'campaign.started': 'A campaign started',
  'campaign.paused': 'A campaign was paused',
  'campaign.resumed': 'A campaign runs again (resumed, or reopened by new contacts or a retry)',
  'campaign.completed': 'Every contact of a campaign reached an end',
  'campaign.cancelled': 'A campaign was cancelled',
  'dnc.added': 'Numbers or prefixes were added to the do-not-call list',
};

const header = (name: string, description: string) => ({ name, in: 'header', required: true, schema: { type: 'string' }, description });

/** The JSON Schema of one event type's body, as receivers get it. */
export function eventJsonSchema(type: EventType): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(eventEnvelope(type), { io: 'output' }) as Record<string, unknown>;
  return schema;
}

/** The OpenAPI `webhooks` section: every event a subscription may receive, with its schema and signature headers. */
export function eventWebhooks(): Record<string, unknown> {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `event_${type.replace(/\W/g, '_')}`,
          summary: SUMMARIES[type],
          tags: ['events'],
          parameters: [
            header('webhook-id', 'The event id: the same on every retry and replay; deduplicate by it'),
            header('webhook-timestamp', 'Seconds since the epoch when this request was signed; refuse ones more than 5 minutes off'),
            header('webhook-signature', 'v1,<base64 HMAC-SHA256 of id.timestamp.body> per secret, space-separated (two during a rotation)'),
          ],
          requestBody: { required: true, content: { 'application/json': { schema: eventJsonSchema(type) } } },
          responses: {
            '2XX': { description: 'Received. Anything else is retried for 24 hours (408, 409, 429, 5xx, no answer), or not at all (other 4xx); 410 disables the subscription' },
          },
        },
      },
    ]),
  );
}
