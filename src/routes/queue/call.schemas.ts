import { z } from 'zod';
import { PRIORITY_NAMES, REDIAL_OUTCOMES } from '../../jobs/call-jobs.js';
import { jsonShapeExcess, type JsonShapeLimits } from '../../lib/json-shape.js';
import { canonicalTimeZone } from '../../lib/time-zone.js';
import { fitsInlineTwiml, isSpeakable, MAX_INLINE_TWIML_LENGTH } from '../../carriers/twilio/twiml.js';
import { isoTimeInputSchema, phoneNumberSchema } from '../shared/common.schemas.js';

export interface CallSchemaLimits {
  bulkMaxCalls: number;
  metadataMaxBytes: number;
  maxScheduleAheadMs: number;
}

const phoneNumber = (description: string) => phoneNumberSchema.meta({ description, example: '+14155550123' });

/** How deep and wide `metadata` may be, besides METADATA_MAX_BYTES: it travels with the call to logs, events and the agent. */
export const METADATA_SHAPE: JsonShapeLimits = { maxDepth: 5, maxEntries: 200 };

/** The request bodies of the scheduling endpoints, sized by configuration. */
export function createCallSchemas(limits: CallSchemaLimits) {
  const call = z.strictObject({
    to: phoneNumber('Number to call, E.164 (normalised: spaces and dashes are accepted)'),
    message: z
      .string()
      .trim()
      .min(1)
      .max(MAX_INLINE_TWIML_LENGTH)
      .refine(isSpeakable, { message: 'message contains control characters that cannot be spoken', abort: true })
      .refine(fitsInlineTwiml, `message is too long once written as TwiML (at most ${MAX_INLINE_TWIML_LENGTH} characters)`)
      .meta({ description: 'What the call says', example: 'Hello from Switchboard' }),
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
      .meta({ description: 'Answering-machine detection: Enable reports AnsweredBy at once; DetectMessageEnd waits for the beep' }),
    timeout: z.number().int().min(5).max(600).optional().meta({ description: 'Seconds to let the phone ring before giving up (Twilio: 60 by default)' }),
    record: z.boolean().optional().meta({ description: 'Record the call' }),
    redial: z
      .strictObject({
        on: z.array(z.enum(REDIAL_OUTCOMES)).max(REDIAL_OUTCOMES.length).optional().describe('Outcomes to dial again after; [] for never'),
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
    timezone: z
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
      })
      .optional()
      .meta({ description: 'IANA time zone of the pattern, stored by its canonical name (europe/london becomes Europe/London); UTC when absent', example: 'America/New_York' }),
  });

  const bulkCalls = z.strictObject({
    calls: z.array(call).min(1).max(limits.bulkMaxCalls).meta({ description: `1 to ${limits.bulkMaxCalls} calls; one invalid call rejects the whole request` }),
  });

  return { call, delayedCall, recurringCall, bulkCalls };
}
