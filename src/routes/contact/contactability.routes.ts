import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock, ContactGate, GateSubject } from '../../contact/contact-gate.js';
import { contactabilityView, previewContactability } from '../../contact/contactability.js';
import { contactRuleFields } from '../queue/call.schemas.js';
import { isoTimeInputSchema, isoTimeSchema, phoneNumberSchema } from '../shared/common.schemas.js';
import { commonErrors } from '../shared/error.schemas.js';

const tags = ['contactability'];
const DECISIONS = ['dial', 'defer', 'refuse'] as const;
const REASONS = ['allowed', 'window', 'frequency-cap', 'min-gap', 'dnc', 'expired', 'no-window'] as const;

const rulesQuery = z.strictObject({
  at: isoTimeInputSchema.optional().describe('Decide as of this time (ISO-8601) instead of now'),
  recipientTimezone: contactRuleFields.recipientTimezone,
  callingWindow: contactRuleFields.callingWindow,
  frequencyCap: contactRuleFields.frequencyCap,
  minGapMinutes: z.coerce.number().int().min(0).max(366 * 24 * 60).optional(),
  notAfter: contactRuleFields.notAfter,
});

const viewSchema = z
  .object({
    number: z.string(),
    at: isoTimeSchema,
    decision: z.enum(DECISIONS),
    reason: z.enum(REASONS),
    nextAllowedAt: isoTimeSchema.nullable().describe('When a call to it may next be dialed: now, the end of a deferral, or null for never'),
    timeZones: z.array(z.string()),
    timeZoneSource: z.enum(['recipientTimezone', 'number', 'fallback']).describe('fallback: the number names no zone, so UTC is assumed: give recipientTimezone'),
    localTimes: z.array(z.object({ zone: z.string(), localTime: z.string(), open: z.boolean() })),
    rules: z.object({
      callingWindow: z.object({ rules: z.array(z.object({ days: z.array(z.number().int()).describe('1 = Monday … 7 = Sunday'), from: z.string(), to: z.string() })), blackoutDates: z.array(z.string()), open: z.boolean() }),
      doNotCall: z.object({ listed: z.boolean(), entry: z.object({ key: z.string(), reason: z.string().nullable(), source: z.string(), addedAt: isoTimeSchema, expiresAt: isoTimeSchema.nullable() }).nullable() }),
      frequencyCap: z.object({
        limits: z.array(z.object({ count: z.number().int(), windowMs: z.number().int() })).describe('FREQUENCY_CAP, and the call\'s own frequencyCap beside it'),
        dialsInWindow: z.number().int().describe("Dials in the first cap's window"),
        heldUntil: isoTimeSchema.nullable(),
      }),
      minGap: z.object({ minutes: z.number(), lastDialAt: isoTimeSchema.nullable(), heldUntil: isoTimeSchema.nullable() }),
      notAfter: z.string().nullable(),
    }),
  })
  .meta({ id: 'Contactability' });

const previewCall = z.object({ to: phoneNumberSchema, ...contactRuleFields }).loose();

/** Whether a number may be called, and why; what a list of numbers or calls would meet, scheduling nothing. */
export const contactabilityRoutes: FastifyPluginAsyncZod<{ gate: Pick<ContactGate, 'explain'>; clock: Clock }> = async (app, { gate, clock }) => {
  app.get('/contactability/:number', {
    schema: {
      operationId: 'getContactability',
      summary: 'Whether the number may be dialed now, when next, its time zones and local time, and every rule that applies (nothing is counted)',
      tags,
      params: z.object({ number: phoneNumberSchema }),
      querystring: rulesQuery,
      response: { 200: z.object({ success: z.literal(true), contactability: viewSchema }), ...commonErrors },
    },
    handler: async (request) => {
      const { at, ...rules } = request.query;
      const when = at === undefined ? clock.now() : Date.parse(at);
      const subject: GateSubject = { to: request.params.number, ...rules };
      return { success: true as const, contactability: contactabilityView(subject, await gate.explain(subject, when), when) };
    },
  });

  app.post('/contactability/preview', {
    schema: {
      operationId: 'previewContactability',
      summary: 'What the gate would decide for each number or call (a bulk body works as is): counts by decision and reason, and each first allowed time; schedules nothing',
      tags,
      body: z
        .strictObject({
          numbers: z.array(phoneNumberSchema).max(10_000).optional(),
          calls: z.array(previewCall).max(10_000).optional(),
          at: isoTimeInputSchema.optional().describe('Decide as of this time instead of now'),
        })
        .refine((body) => (body.numbers?.length ?? 0) + (body.calls?.length ?? 0) > 0, 'give numbers or calls'),
      response: {
        200: z.object({
          success: z.literal(true),
          counts: z.object({ dial: z.number().int(), defer: z.number().int(), refuse: z.number().int() }),
          byReason: z.record(z.string(), z.number().int()),
          results: z.array(z.object({ number: z.string(), decision: z.enum(DECISIONS), reason: z.enum(REASONS), nextAllowedAt: isoTimeSchema.nullable() })),
        }),
        ...commonErrors,
      },
    },
    handler: async (request) => {
      const { numbers = [], calls = [], at } = request.body;
      const subjects: GateSubject[] = [...numbers.map((to) => ({ to })), ...calls];
      return { success: true as const, ...(await previewContactability(gate, subjects, at === undefined ? clock.now() : Date.parse(at))) };
    },
  });
};
