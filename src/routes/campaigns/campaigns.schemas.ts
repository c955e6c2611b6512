import { z } from 'zod';
import { CAMPAIGN_STATES, type CampaignDefinition } from '../../campaigns/campaign-definition.js';
import { RETRY_OUTCOMES } from '../../campaigns/campaign-service.js';
import { PRIORITY_NAMES, REDIAL_OUTCOMES } from '../../jobs/call-jobs.js';
import { createCallSchemas, type CallSchemaLimits } from '../queue/call.schemas.js';
import { isoTimeInputSchema, isoTimeSchema, phoneNumberSchema } from '../shared/common.schemas.js';

export const campaignIdParams = z.object({ id: z.string().min(1).max(64).describe('The campaign id') });

const variableValue = z.union([z.string().max(500), z.number(), z.boolean()]);
export const variablesSchema = z
  .record(z.string().min(1).max(64).regex(/^[\w.-]+$/, 'variable names are letters, digits, _ . -'), variableValue)
  .refine((value) => Object.keys(value).length <= 50, 'at most 50 variables')
  .meta({ description: 'Named values for the message ({{name}}) and for the voice agent (metadata.variables.<name>)', example: { first_name: 'Ada' } });

const redialRule = z.strictObject({
  max: z.number().int().min(0).max(10).describe('Redials at most after this outcome'),
  delayMs: z.number().int().min(0).max(7 * 24 * 3600 * 1000).describe('Wait before each'),
});

const share = (what: string) =>
  z.number().positive().max(1000).default(1).meta({ description: `Relative weight for ${what} while other campaigns want it too (3 against 1 gets three quarters); all of it when alone` });

/** The fields of a call a campaign sets for every contact. */
const CALL_FIELDS = {
  connect: true,
  agentTarget: true,
  streamUrl: true,
  answeringMachine: true,
  machineDetection: true,
  timeout: true,
  record: true,
  callingWindow: true,
  blackoutDates: true,
  frequencyCap: true,
  minGapMinutes: true,
} as const;

export function createCampaignSchemas(limits: CallSchemaLimits) {
  const { call } = createCallSchemas(limits);
  const fields = {
    name: z.string().trim().min(1).max(200).meta({ example: 'December renewals' }),
    description: z.string().trim().max(1000).optional(),
    startAt: isoTimeInputSchema.optional().meta({ description: 'No contact is dialed before this time (ISO-8601 with Z or an offset)' }),
    endAt: isoTimeInputSchema.optional().meta({ description: 'None after: what is left then expires' }),
    priority: call.shape.priority,
    message: call.shape.message.meta({ description: 'Said to each contact (connect: say), or the voice agent\'s first words; {{name}} is replaced by the contact\'s variable', example: 'Hello {{first_name}}, this is Switchboard.' }),
    variables: variablesSchema.optional(),
    metadata: call.shape.metadata,
    from: phoneNumberSchema.optional().meta({ description: 'Caller id; TWILIO_PHONE_NUMBER when absent' }),
    callerIds: z.array(phoneNumberSchema).min(1).max(100).optional().meta({ description: 'A pool of caller ids the contacts are spread over, instead of from' }),
    ...call.pick(CALL_FIELDS).shape,
    redial: z
      .strictObject(Object.fromEntries(REDIAL_OUTCOMES.map((outcome) => [outcome, redialRule.optional()])) as Record<(typeof REDIAL_OUTCOMES)[number], z.ZodOptional<typeof redialRule>>)
      .optional()
      .meta({ description: 'How often and how soon to dial a contact again after each outcome; outcomes not named are not redialed. REDIAL_ON, REDIAL_MAX and REDIAL_DELAY_MS when absent', example: { busy: { max: 2, delayMs: 300000 }, 'no-answer': { max: 2, delayMs: 1800000 } } }),
    rateShare: share('the dial rate'),
    slotShare: share('live-call slots (connect: agent or stream)'),
  };
  const checkTimes = (body: { startAt?: string | undefined; endAt?: string | undefined; from?: string | undefined; callerIds?: string[] | undefined }, ctx: z.RefinementCtx) => {
    if (body.endAt !== undefined && Date.parse(body.endAt) <= Date.now()) ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'endAt has passed' });
    if (body.startAt !== undefined && body.endAt !== undefined && Date.parse(body.endAt) <= Date.parse(body.startAt)) ctx.addIssue({ code: 'custom', path: ['endAt'], message: 'endAt is not after startAt' });
    if (body.from !== undefined && body.callerIds !== undefined) ctx.addIssue({ code: 'custom', path: ['callerIds'], message: 'give from or callerIds, not both' });
  };
  const create = z.strictObject(fields).superRefine(checkTimes);
  const patch = z
    .strictObject(Object.fromEntries(Object.entries(fields).map(([name, schema]) => [name, name === 'rateShare' || name === 'slotShare' ? z.number().positive().max(1000).optional() : name === 'priority' ? z.enum(PRIORITY_NAMES).optional() : (schema as z.ZodType).optional()])) as {
      [K in keyof typeof fields]: z.ZodOptional<(typeof fields)[K]>;
    })
    .superRefine(checkTimes);

  const contact = z.strictObject({
    to: phoneNumberSchema.meta({ description: 'The number, E.164', example: '+14155550123' }),
    contactId: z.union([z.string().trim().min(1).max(128), z.number().int()]).transform(String).optional().meta({ description: 'Your id for the contact: a contact sent again with the same id is added once (the number is the id when absent)' }),
    lead_id: call.shape.lead_id,
    variables: variablesSchema.optional(),
  });
  const contactsChunk = z.strictObject({
    contacts: z.array(contact).min(1).max(limits.bulkMaxCalls).meta({ description: `1 to ${limits.bulkMaxCalls} contacts (BULK_MAX_CALLS); one invalid contact refuses the chunk` }),
  });
  return { create, patch, contactsChunk };
}

type CreateBody = z.infer<ReturnType<typeof createCampaignSchemas>['create']>;

const definitionKeys = new Set(['name', 'description', 'startAt', 'endAt', 'priority', 'message', 'variables', 'metadata', 'from', 'callerIds', 'redial', 'rateShare', 'slotShare']);

/** The body as the campaign keeps it: its call fields together. */
export function toDefinition(body: Partial<CreateBody>): Partial<CampaignDefinition> {
  const definition: Record<string, unknown> = {};
  const call: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (definitionKeys.has(name)) definition[name] = value;
    else call[name] = value;
  }
  return { ...definition, call } as Partial<CampaignDefinition>;
}

export const progressSchema = z
  .object({
    contacts: z.number().int(),
    pending: z.number().int().describe('Waiting to be dialed (retries and redials due later included)'),
    deferred: z.object({ total: z.number().int(), byReason: z.record(z.string(), z.number().int()) }).describe('Held back by the gate: window, frequency-cap, min-gap'),
    dialing: z.number().int(),
    live: z.number().int(),
    done: z.object({ total: z.number().int(), byOutcome: z.record(z.string(), z.number().int()) }).describe('completed (a person), voicemail-left, machine-hangup, busy, no-answer, failed, canceled'),
    blocked: z.object({ total: z.number().int(), byReason: z.record(z.string(), z.number().int()) }).describe('Refused by the gate: dnc, no-window'),
    expired: z.number().int(),
    cancelled: z.number().int(),
    attempts: z.number().int().describe('Dials made'),
    pace: z.object({ dialsPerMinute: z.number(), estimatedFinishAt: isoTimeSchema.nullable().describe('At the pace of the last minutes; null unless the campaign is running with something left and dials made') }),
  })
  .meta({ id: 'CampaignProgress' });

export const campaignSchema = z
  .object({
    id: z.string(),
    state: z.enum(CAMPAIGN_STATES),
    name: z.string(),
    description: z.string().optional(),
    startAt: isoTimeSchema.optional(),
    endAt: isoTimeSchema.optional(),
    priority: z.string(),
    message: z.string(),
    variables: z.record(z.string(), z.unknown()).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    from: z.string().optional(),
    callerIds: z.array(z.string()).optional(),
    connect: z.string().optional(),
    agentTarget: z.string().optional(),
    streamUrl: z.string().optional(),
    answeringMachine: z.record(z.string(), z.unknown()).optional(),
    machineDetection: z.string().optional(),
    timeout: z.number().optional(),
    record: z.boolean().optional(),
    callingWindow: z.string().optional(),
    blackoutDates: z.array(z.string()).optional(),
    frequencyCap: z.string().optional(),
    minGapMinutes: z.number().optional(),
    redial: z.record(z.string(), z.object({ max: z.number(), delayMs: z.number() })).optional(),
    rateShare: z.number(),
    slotShare: z.number(),
    createdAt: isoTimeSchema,
    updatedAt: isoTimeSchema,
    progress: progressSchema.optional(),
  })
  .meta({ id: 'Campaign' });

export const campaignResponse = z.object({ success: z.literal(true), campaign: campaignSchema });

export const retryBody = z.strictObject({
  outcomes: z.array(z.enum(RETRY_OUTCOMES)).min(1).max(RETRY_OUTCOMES.length).meta({ description: 'Put back the contacts whose last outcome is one of these', example: ['busy', 'no-answer'] }),
});

const rejectionReason = z.enum(['invalid-number', 'duplicate', 'dnc', 'missing-number', 'malformed']);

export const importProgressSchema = z
  .object({
    importId: z.string(),
    campaignId: z.string(),
    status: z.enum(['running', 'completed', 'failed']),
    dryRun: z.boolean(),
    line: z.number().int().describe('The last line read and committed (the header is line 1)'),
    accepted: z.number().int(),
    rejected: z.number().int(),
    rejectedByReason: z.record(z.string(), z.number().int()),
    rejections: z.array(z.object({ line: z.number().int(), reason: rejectionReason })).describe('The first 100 rows turned away, by line'),
    startedAt: isoTimeSchema,
    updatedAt: isoTimeSchema,
    finishedAt: isoTimeSchema.nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'ContactImport' });

export const csvImportQuery = z.object({
  numberColumn: z.string().min(1).max(128).default('number').describe('The column with the number'),
  contactIdColumn: z.string().min(1).max(128).optional().describe('The column with your contact id (a contact is added once per id; the number is the id without one)'),
  leadIdColumn: z.string().min(1).max(128).optional().describe('The column with the lead id'),
  variableColumns: z
    .string()
    .max(4000)
    .optional()
    .transform((value) => (value === undefined ? undefined : value.split(',').map((column) => column.trim()).filter((column) => column !== '')))
    .describe('Comma-separated columns that become the contact\'s variables'),
  dryRun: z.enum(['true', 'false']).default('false').transform((value) => value === 'true').describe('Check every row and count, add nothing'),
  importId: z.string().regex(/^[\w-]{1,64}$/, 'letters, digits, _ and -, at most 64').optional().describe('Name the import to follow its progress while it runs; send the same file with the same id to resume one that stopped'),
});

export const appendResponse = z.object({
  success: z.literal(true),
  added: z.number().int(),
  rejected: z.array(z.object({ index: z.number().int(), reason: rejectionReason })).describe('Contacts not added: duplicate (already in the campaign, or twice in the chunk) or dnc'),
});
