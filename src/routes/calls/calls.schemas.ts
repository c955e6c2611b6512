import { z } from 'zod';
import { isoTimeInputSchema, isoTimeSchema, phoneNumberSchema } from '../shared/common.schemas.js';

const isoTime = isoTimeSchema;

export const callLogRowSchema = z
  .object({
    id: z.number().int(),
    job_id: z.string(),
    attempt: z.number().int(),
    redial_number: z.number().int(),
    redial_of: z.string().nullable(),
    root_job_id: z.string().nullable(),
    recurring_id: z.string().nullable(),
    lead_id: z.string().nullable(),
    to_number: z.string(),
    from_number: z.string().nullable(),
    priority: z.string(),
    status: z.string().describe('scheduled, dialing, dial-failed, error, or the call status from Twilio'),
    final: z.boolean(),
    outcome: z.string().nullable().describe('How the call ended: its final status, or voicemail-left / machine-hangup'),
    connect_mode: z.string().describe('say, agent or stream'),
    call_sid: z.string().nullable(),
    timeline: z.array(z.object({ status: z.string(), at: isoTime })),
    duration_seconds: z.number().int().nullable(),
    answered_by: z.string().nullable(),
    sip_response_code: z.number().int().nullable(),
    error_code: z.string().nullable(),
    error_message: z.string().nullable(),
    message: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    scheduled_at: isoTime.nullable(),
    dialed_at: isoTime.nullable(),
    placed_at: isoTime.nullable(),
    ended_at: isoTime.nullable(),
    version: z.number().int(),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'CallLogRow' });

/** An opaque position in the list: the creation time and id of the last row of a page. */
const cursorSchema = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    try {
      const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { c?: unknown; i?: unknown };
      if (typeof parsed.c === 'string' && !Number.isNaN(Date.parse(parsed.c)) && Number.isInteger(parsed.i)) {
        return { createdAt: parsed.c, id: parsed.i as number };
      }
    } catch {
      // Reported below.
    }
    ctx.addIssue({ code: 'custom', message: 'not a cursor this API returned' });
    return z.NEVER;
  });

export const encodeCursor = (row: { created_at: string; id: number }) =>
  Buffer.from(JSON.stringify({ c: row.created_at, i: row.id })).toString('base64url');

export const callsQuery = z.strictObject({
  lead_id: z.string().min(1).max(128).optional(),
  status: z.string().min(1).max(32).optional(),
  outcome: z.string().min(1).max(32).optional().describe('completed, busy, no-answer, failed, canceled, voicemail-left or machine-hangup'),
  to: phoneNumberSchema.optional(),
  since: isoTimeInputSchema.optional().describe('Rows created at or after this time'),
  until: isoTimeInputSchema.optional().describe('Rows created before this time'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: cursorSchema.optional().describe('nextCursor of the previous page'),
});

export const callsResponse = z.object({
  success: z.literal(true),
  calls: z.array(callLogRowSchema),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
});

export const callContextResponse = z.object({
  success: z.literal(true),
  context: z.object({
    callSid: z.string(),
    jobId: z.string(),
    leadId: z.string().nullable(),
    campaignId: z.string().nullable(),
    message: z.string().describe("The call's message: the agent's first words or instructions"),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    to: z.string(),
    from: z.string().nullable(),
    connect: z.string().describe('say, agent or stream'),
    parameters: z.record(z.string(), z.string()).describe('The context as flat names and values (job_id, lead_id, campaign_id, message, metadata.<path>): what stream <Parameter>s and SIP X- headers carry'),
  }),
});
