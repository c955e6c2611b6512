import { createHash, randomBytes } from 'node:crypto';
import type { CallLogRow } from '../call-log/call-log-writer.js';
import { FINAL_CALL_STATUSES } from '../carriers/call-status.js';
import type { CallEventType, EventData, RecordedEvent, WebhookEvent } from './event-types.js';

/** The same change always gets the same id, whichever process or row reports it: receivers and the recorder deduplicate by it. */
export const stableEventId = (...parts: Array<string | number>) => `evt_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;

/** A change reported once (a campaign's transition, a do-not-call entry): any fresh id will do. */
export const freshEventId = () => `evt_${randomBytes(16).toString('hex')}`;

const callFieldsOf = (row: CallLogRow) => ({
  jobId: row.job_id,
  attempt: row.attempt,
  callSid: row.call_sid,
  leadId: row.lead_id,
  campaignId: row.campaign_id,
  contactId: row.contact_id,
  to: row.to_number,
  from: row.from_number,
  priority: row.priority,
  connect: row.connect_mode,
  rootJobId: row.root_job_id,
  redialNumber: row.redial_number,
  metadata: row.metadata,
});

type CallData<Type extends CallEventType> = Omit<EventData<Type>, keyof ReturnType<typeof callFieldsOf>>;

const isFinal = (status: string) => (FINAL_CALL_STATUSES as readonly string[]).includes(status);

/**
 * The events one call-log row tells of. A row holds the whole state of an attempt at its version, so
 * each change gets an id from what it is (job, attempt, kind) rather than from the row: a later row
 * repeats the earlier changes under the same ids and the recorder keeps the first. Every row also
 * restates that the call was scheduled, so a worker's first row can never be delivered before it.
 */
export function callEventsOf(row: CallLogRow, now: string): RecordedEvent[] {
  const fields = callFieldsOf(row);
  const lane = `call:${row.root_job_id ?? row.job_id}`;
  const events: WebhookEvent[] = [];
  const add = <Type extends CallEventType>(type: Type, id: string, timestamp: string, data: CallData<Type>) =>
    events.push({ id, type, timestamp, data: { ...fields, ...data } } as WebhookEvent);

  if (row.redial_number > 0) add('call.redial_scheduled', stableEventId(row.job_id, 'scheduled'), now, { redialOf: row.redial_of, scheduledAt: row.scheduled_at });
  else add('call.scheduled', stableEventId(row.job_id, 'scheduled'), now, { scheduledAt: row.scheduled_at });

  const attemptId = (kind: string, ...more: Array<string | number>) => stableEventId(row.job_id, row.attempt, kind, ...more);
  switch (row.status) {
    case 'scheduled':
      break;
    case 'deferred':
      add('call.deferred', attemptId('deferred', row.version), now, { reason: row.reason ?? 'deferred', until: row.deferred_until ?? now });
      break;
    case 'blocked':
      add('call.blocked', attemptId('blocked'), now, { reason: row.reason ?? 'blocked' });
      break;
    case 'cancelled':
      add('call.cancelled', attemptId('cancelled'), now, {});
      break;
    case 'dialing':
      add('call.dialing', attemptId('dialing'), row.dialed_at ?? now, { dialedAt: row.dialed_at ?? now });
      break;
    case 'dial-failed':
    case 'error':
      add('call.dialing', attemptId('dialing'), row.dialed_at ?? now, { dialedAt: row.dialed_at ?? now });
      add('call.failed', attemptId('failed'), now, {
        status: row.status,
        willRetry: row.status === 'dial-failed',
        errorCode: row.error_code,
        errorMessage: row.error_message,
        sipResponseCode: row.sip_response_code,
      });
      break;
    default:
      callProgress(row, add, attemptId);
  }
  return events.map((event) => ({ event, lane, ...(row.campaign_id && { campaignId: row.campaign_id }) }));
}

/** A placed call's progress, from its timeline: each status once, in the order the carrier reported them. */
function callProgress(
  row: CallLogRow,
  add: <Type extends CallEventType>(type: Type, id: string, timestamp: string, data: CallData<Type>) => void,
  attemptId: (kind: string) => string,
) {
  if (row.dialed_at) add('call.dialing', attemptId('dialing'), row.dialed_at, { dialedAt: row.dialed_at });
  for (const { status, at } of row.timeline) {
    if (status === 'ringing') add('call.ringing', attemptId('ringing'), at, { at });
    else if (status === 'in-progress') add('call.answered', attemptId('answered'), at, { at, answeredBy: row.answered_by });
    else if (status === 'failed') {
      add('call.failed', attemptId('failed'), at, { status, willRetry: false, errorCode: row.error_code, errorMessage: row.error_message, sipResponseCode: row.sip_response_code });
    } else if (isFinal(status)) {
      add('call.completed', attemptId('completed'), at, {
        outcome: row.outcome ?? status,
        status,
        durationSeconds: row.duration_seconds,
        answeredBy: row.answered_by,
        recordingUrl: row.recording_url,
        endedAt: row.ended_at ?? at,
      });
    }
  }
}
