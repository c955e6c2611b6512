import { z } from 'zod';
import { ANSWER_ACTIONS, CONNECT_MODES, PRIORITY_NAMES, REDIAL_OUTCOMES } from '../../jobs/call-jobs.js';
import { jsonShapeExcess, type JsonShapeLimits } from '../../lib/json-shape.js';
import { canonicalTimeZone } from '../../lib/time-zone.js';
import { fitsInlineTwiml, isSpeakable, MAX_INLINE_TWIML_LENGTH } from '../../carriers/twilio/twiml.js';
import { isoTimeInputSchema, phoneNumberSchema } from '../shared/common.schemas.js';
import { parseCallingWindow } from '../../contact/calling-window.js';
import { isCalendarDate, parseFrequencyCap } from '../../contact/contact-rules.js';

export interface CallSchemaLimits {
  bulkMaxCalls: number;
  metadataMaxBytes: number;
  maxScheduleAheadMs: number;
}

const phoneNumber = (description: string) => phoneNumberSchema.meta({ description, example: '+14155550123' });

/** How deep and wide `metadata` may be, besides METADATA_MAX_BYTES: it travels with the call to logs, events and the agent. */
export const METADATA_SHAPE: JsonShapeLimits = { maxDepth: 5, maxEntries: 200 };

/** Text the carrier speaks: no characters XML cannot carry, and short enough once written as TwiML. */
const speakable = (field: string, maxLength: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(maxLength)
    .refine(isSpeakable, { message: `${field} contains control characters that cannot be spoken`, abort: true })
    .refine(fitsInlineTwiml, `${field} is too long once written as TwiML (at most ${MAX_INLINE_TWIML_LENGTH} characters)`);

const answerAction = (who: string) =>
  z.enum(ANSWER_ACTIONS).optional().describe(`When ${who} answers: connect (the call's connect mode), voicemail (speak voicemailMessage after the beep, then hang up) or hangup`);

/** An IANA time zone, answered and stored by its canonical name. */
export const timeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .transform((value, ctx) => {
    const canonical = canonicalTimeZone(value);
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not an IANA time zone such as Europe/Paris` });
      return z.NEVER;
    }
    return canonical;
  });

const validatedText = (parse: (text: string) => unknown) =>
  z
    .string()
    .max(500)
    .superRefine((value, ctx) => {
      const parsed = parse(value);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    });

/** The rules of the contactability gate a call may set for itself. */
export const contactRuleFields = {
  recipientTimezone: timeZoneSchema
    .optional()
    .meta({ description: "The called person's IANA time zone, instead of the zones of the number (libphonenumber's data)", example: 'America/Indiana/Indianapolis' }),
  callingWindow: validatedText(parseCallingWindow)
    .optional()
    .meta({ description: "When the call may be dialed, in the called person's local time; CALLING_WINDOW (Mon-Sun 08:00-21:00) when absent", example: 'Mon-Fri 09:00-20:00,Sat 10:00-18:00' }),
  blackoutDates: z
    .array(z.string().refine(isCalendarDate, 'dates are YYYY-MM-DD'))
    .max(366)
    .optional()
    .meta({ description: 'Local dates with no calls, instead of BLACKOUT_DATES', example: ['2026-12-25'] }),
  frequencyCap: validatedText(parseFrequencyCap)
    .optional()
    .meta({ description: 'At most this many dials to the number per window, across every call to it: N/<minutes m | hours h | days d>; FREQUENCY_CAP when absent', example: '3/24h' }),
  minGapMinutes: z.number().int().min(0).max(366 * 24 * 60).optional().meta({ description: 'The least time between two dials to the number; MIN_GAP_MINUTES when absent' }),
  notAfter: isoTimeInputSchema.optional().meta({ description: 'Not dialed after this time (ISO-8601 with Z or an offset): a call that cannot be dialed lawfully before it fails as expired', example: '2030-11-20T18:00:00Z' }),
};

/** The request bodies of the scheduling endpoints, sized by configuration. */
export function createCallSchemas(limits: CallSchemaLimits) {
  const call = z.strictObject({
    to: phoneNumber('Number to call, E.164 (normalised: spaces and dashes are accepted)'),
    message: speakable('message', MAX_INLINE_TWIML_LENGTH).meta({
      description: 'What the call says (connect: say); with agent or stream, the first words or instructions for the voice agent, handed to it with the lead\'s context',
      example: 'Hello from Switchboard',
    }),
    from: phoneNumber('Caller id; defaults to TWILIO_PHONE_NUMBER').optional(),
    lead_id: z
      .union([z.string().trim().min(1).max(128), z.number().int()])
      .transform(String)
      .optional()
      .meta({ description: 'Your CRM id for the person called', example: '123' }),
    priority: z.enum(PRIORITY_NAMES).default('normal').meta({ description: 'high runs before normal before low; FIFO within a level' }),
    metadata: z
      .record(z.string(), z.unknown())
      .superRefine((value, ctx) => {
        const excess = jsonShapeExcess(value, METADATA_SHAPE);
        if (excess) ctx.addIssue({ code: 'custom', message: `metadata ${excess}` });
        else if (Buffer.byteLength(JSON.stringify(value)) > limits.metadataMaxBytes) {
          ctx.addIssue({ code: 'custom', message: `metadata must be at most ${limits.metadataMaxBytes} bytes of JSON` });
        }
      })
      .optional()
      .meta({
        description: `Anything you want back with the job: an object of at most ${METADATA_SHAPE.maxDepth} levels, ${METADATA_SHAPE.maxEntries} keys and array items in all, and METADATA_MAX_BYTES of JSON`,
        example: { campaign: 'Q4 Outreach' },
      }),
    machineDetection: z
      .enum(['Enable', 'DetectMessageEnd'])
      .optional()
      .meta({ description: 'Plain answering-machine detection, reported as answeredBy and changing nothing else: Enable reports at once; DetectMessageEnd waits for the beep. Use answeringMachine to act on it' }),
    connect: z.enum(CONNECT_MODES).optional().meta({
      description: 'What the answered call does: say speaks message; agent bridges to the voice agent (agentTarget or AGENT_DIAL_TARGET); stream connects it to the agent over Media Streams (streamUrl or AGENT_STREAM_URL). CALL_CONNECT_MODE (say) when absent',
    }),
    agentTarget: z
      .string()
      .max(256)
      .regex(/^(\+[1-9]\d{6,14}|sips?:[^\s?]+)$/, 'must be an E.164 number or a sip: URI without headers')
      .optional()
      .meta({ description: 'connect: agent only: the agent\'s number or sip: URI for this call, instead of AGENT_DIAL_TARGET', example: 'sip:agent@voice.example.com' }),
    streamUrl: z
      .url({ protocol: /^wss?$/, error: 'must be a wss:// URL' })
      .max(2048)
      .optional()
      .meta({ description: 'connect: stream only: the agent\'s Media Streams WebSocket for this call, instead of AGENT_STREAM_URL (wss://; ws:// with the simulated carrier)', example: 'wss://agent.example.com/twilio' }),
    answeringMachine: z
      .strictObject({
        onHuman: answerAction('a person'),
        onMachine: answerAction('an answering machine'),
        voicemailMessage: speakable('voicemailMessage', 1000).optional().describe('Left after the beep; VOICEMAIL_MESSAGE, else message, when absent'),
      })
      .optional()
      .meta({
        description:
          'What to do once it is known who answered; absent fields come from AMD_ON_HUMAN and AMD_ON_MACHINE (connect). Anything but connect for both dials with answering-machine detection and needs PUBLIC_URL. A fax is hung up on',
        example: { onHuman: 'connect', onMachine: 'voicemail', voicemailMessage: 'Sorry we missed you, we will call back.' },
      }),
    timeout: z.number().int().min(5).max(600).optional().meta({ description: 'Seconds to let the phone ring before giving up (Twilio: 60 by default)' }),
    record: z.boolean().optional().meta({ description: 'Record the call' }),
    ...contactRuleFields,
    redial: z
      .strictObject({
        on: z.array(z.enum(REDIAL_OUTCOMES)).max(REDIAL_OUTCOMES.length).optional().describe('Outcomes to dial again after (machine: a voicemail left or a machine hung up on); [] for never'),
        max: z.number().int().min(0).max(10).optional().describe('How many redials at most'),
        delayMs: z.number().int().min(0).max(7 * 24 * 3600 * 1000).optional().describe('Wait before each redial'),
      })
      .optional()
      .meta({ description: 'Overrides the configured redial policy (REDIAL_ON, REDIAL_MAX, REDIAL_DELAY_MS) for this call' }),
  });

  const delayedCall = call
    .extend({
      scheduleAt: isoTimeInputSchema.optional().meta({ description: 'When to call: ISO-8601 with Z or an offset, in the future', example: '2030-11-20T14:00:00Z' }),
      delayMs: z.number().int().min(0).max(limits.maxScheduleAheadMs).optional().meta({ description: 'Or: how long from now, in milliseconds', example: 3600000 }),
    })
    .superRefine((body, ctx) => {
      if ((body.scheduleAt === undefined) === (body.delayMs === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['scheduleAt'], message: 'give exactly one of scheduleAt or delayMs' });
      }
    });

  const recurringCall = call.extend({
    cronExpression: z.string().trim().min(1).max(120).meta({ description: 'Cron pattern (5 fields, or 6 with seconds)', example: '0 9 * * 1-5' }),
    timezone: timeZoneSchema
      .optional()
      .meta({ description: 'IANA time zone of the pattern, stored by its canonical name (europe/london becomes Europe/London); UTC when absent', example: 'America/New_York' }),
  });

  const bulkCalls = z.strictObject({
    calls: z.array(call).min(1).max(limits.bulkMaxCalls).meta({ description: `1 to ${limits.bulkMaxCalls} calls; one invalid call rejects the whole request` }),
  });

  return { call, delayedCall, recurringCall, bulkCalls };
}
