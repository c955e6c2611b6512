import { z } from 'zod';
import { ANSWER_ACTIONS, callJobDataSchema, INTERNAL_CALL_FIELDS, PRIORITY_NAMES } from '../../jobs/call-jobs.js';
import { CALL_OUTCOMES } from '../../calls/call-outcome.js';
import { JOB_STATES } from '../../calls/job-view.js';
import { CLEANABLE_STATES } from '../../calls/queue-admin-service.js';
import { isoTimeSchema } from '../shared/common.schemas.js';

const isoTime = isoTimeSchema;

/** A call job's data as the API shows it: the job catalog's payload without the service's own fields. */
export const callDataSchema = callJobDataSchema
  .omit(INTERNAL_CALL_FIELDS)
  .extend({
    redial: z
      .object({ on: z.array(z.string()).optional(), max: z.number().int().optional(), delayMs: z.number().int().optional() })
      .optional(),
    scheduleAt: isoTime.optional(),
    redialOf: z.string().optional().describe('The job whose outcome asked for this redial'),
    rootJobId: z.string().optional().describe('The first job of a chain of redials'),
  })
  .meta({ id: 'CallData' });

export const callRecordSchema = z
  .object({
    sid: z.string().nullable(),
    status: z.string().nullable().describe('queued, initiated, ringing, in-progress, then completed, busy, no-answer, failed or canceled'),
    final: z.boolean().describe('True once the call ended; the job itself completes when the carrier accepts the call'),
    timeline: z.array(z.object({ status: z.string(), at: isoTime })),
    dialedAt: isoTime.nullable(),
    placedAt: isoTime.nullable(),
    endedAt: isoTime.nullable(),
    durationSeconds: z.number().nullable(),
    answeredBy: z.string().nullable().describe('human, machine_start, machine_end_beep, fax, unknown… when the call detected machines'),
    sipResponseCode: z.number().nullable(),
    errorCode: z.string().nullable(),
    errorMessage: z.string().nullable(),
    redialJobId: z.string().nullable().describe('The job that dials this call again'),
    outcome: z
      .enum(CALL_OUTCOMES)
      .nullable()
      .describe('How the call ended, once it has: its final status, or voicemail-left / machine-hangup when an answering machine took it and the policy left a voicemail or hung up'),
    answerAction: z.enum(ANSWER_ACTIONS).nullable().describe('What the call did once it was known who answered (calls with an answeringMachine policy)'),
  })
  .meta({ id: 'Call' });

export const jobViewSchema = z
  .object({
    jobId: z.string(),
    state: z.enum([...JOB_STATES, 'unknown']),
    progress: z.union([z.number(), z.record(z.string(), z.unknown())]),
    data: callDataSchema,
    priority: z.enum(PRIORITY_NAMES),
    attemptsMade: z.number().int(),
    maxAttempts: z.number().int(),
    failedReason: z.string().nullable().describe('Why the job failed; null unless its state is failed'),
    previousAttemptError: z
      .string()
      .nullable()
      .describe('The error of an earlier attempt of a job that has not failed: one waiting to retry, or completed on a later attempt'),
    createdAt: isoTime,
    scheduledFor: isoTime.nullable().describe('When the call is (or was) due: its creation for a call now, its time for a delayed call or a run of a schedule'),
    processedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    callSid: z.string().nullable().describe("Twilio's call SID, once the call was placed"),
    callStatus: z.string().nullable().describe("The call's own latest status"),
    gate: z
      .object({
        decision: z.enum(['dial', 'defer', 'refuse']),
        reason: z.string().describe('allowed; window, frequency-cap or min-gap (deferred); dnc, expired or no-window (refused)'),
        until: isoTime.nullable().describe('When a deferred call may be dialed'),
        at: isoTime.describe("When the gate decided, by the service's clock"),
      })
      .nullable()
      .describe('The contactability gate\'s last decision before a dial; null before the first'),
    call: callRecordSchema,
  })
  .meta({ id: 'Job' });

const ok = <T extends z.ZodRawShape>(shape: T) => z.object({ success: z.literal(true), ...shape });

export const jobIdParams = z.object({ jobId: z.string().min(1).max(256) });
export const recurringIdParams = z.object({ id: z.string().min(1).max(256) });

export const scheduledResponse = ok({
  message: z.string(),
  jobId: z.string(),
  status: z.enum(['scheduled', 'delayed']),
  scheduledFor: isoTime,
  data: callDataSchema,
});

export const recurringScheduledResponse = ok({
  message: z.string(),
  jobId: z.string().describe('The first run, waiting as a delayed job'),
  recurringId: z.string(),
  status: z.literal('recurring'),
  cronExpression: z.string(),
  timezone: z.string().nullable(),
  nextRunAt: isoTime,
  data: callDataSchema,
});

export const bulkScheduledResponse = ok({
  message: z.string(),
  status: z.literal('scheduled'),
  count: z.number().int(),
  jobIds: z.array(z.string()).describe('In the order of the calls sent'),
});

export const jobResponse = ok(jobViewSchema.shape);
export const jobActionResponse = ok({ message: z.string(), jobId: z.string() });

export const queueStatsSchema = z.object({
  waiting: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  delayed: z.number().int(),
  total: z.number().int(),
});

export const statsResponse = ok({ stats: queueStatsSchema, paused: z.boolean() });

export const MAX_PAGE = 1000;
export const listQuery = z
  .object({
    start: z.coerce.number().int().min(0).default(0),
    end: z.coerce.number().int().min(0).optional().describe('Inclusive; defaults to start + 49'),
  })
  .transform(({ start, end }) => ({ start, end: end ?? start + 49 }))
  .refine(({ start, end }) => end >= start, { path: ['end'], message: 'end must not be before start' })
  .refine(({ start, end }) => end - start < MAX_PAGE, { path: ['end'], message: `at most ${MAX_PAGE} jobs per page` });

export const listResponse = ok({
  state: z.enum(JOB_STATES),
  start: z.number().int(),
  end: z.number().int(),
  total: z.number().int(),
  jobs: z.array(jobViewSchema),
});

const cleanOptions = z.strictObject({
  grace: z.number().int().min(0).default(0).describe('Only jobs older than this many milliseconds'),
  limit: z.number().int().min(1).max(100_000).default(1000).describe('At most this many jobs per state'),
  status: z.enum(CLEANABLE_STATES).optional().describe('Which jobs; completed and failed when absent'),
});

/** A bodiless `POST /clean` (as curl -X POST sends it) cleans with the defaults. */
export const cleanBody = cleanOptions.nullish().transform((body) => body ?? cleanOptions.parse({}));

export const cleanResponse = ok({
  message: z.string(),
  cleaned: z.record(z.string(), z.number().int()),
  total: z.number().int(),
});

export const pauseResponse = ok({ message: z.string(), paused: z.boolean() });

export const recurringListResponse = ok({
  schedules: z.array(
    z.object({
      recurringId: z.string(),
      cronExpression: z.string().nullable(),
      timezone: z.string().nullable(),
      nextRunAt: isoTime.nullable().describe('When the next run is (or was) due'),
      overdue: z
        .boolean()
        .describe('The next run is due and has not started (a backlog, a paused queue, no worker running). The run after it is added only once this one starts: missed times are skipped, never piled up'),
      pendingRunJobId: z.string().nullable().describe('The run waiting or delayed, to look up with GET /api/queue/job/{jobId}'),
      iterationCount: z.number().int(),
      data: callDataSchema.nullable(),
    }),
  ),
});

export const recurringRemovedResponse = ok({
  message: z.string(),
  recurringId: z.string(),
  removedRuns: z.number().int().describe('Runs of the schedule that had not started, removed with it; a run being dialed finishes'),
});
