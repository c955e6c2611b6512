import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../config.js';
import { jobIds } from './job-ids.js';
import { ANSWER_ACTIONS, CONNECT_MODES, REDIAL_OUTCOMES, type ConnectMode, type RedialOutcome } from './call-choices.js';

export * from './call-choices.js';

/** The job catalog: what the API produces and the call worker consumes. */
export const CALL_QUEUE_NAME = 'calls';

export const CALL_JOB = 'call';

/**
 * The call log's outbox: rows wait here until Supabase takes them, so an outage delays rows but
 * loses none, and never slows a call.
 */
export const CALL_LOG_QUEUE_NAME = 'call-log';
export const CALL_LOG_JOB = 'upsert';
export const OUTBOX_BACKOFF = 'outbox';

/** An outbox chunk is retried until Supabase takes it: about a month at one try a minute. */
export const CALL_LOG_JOB_OPTIONS = {
  attempts: 50_000,
  backoff: { type: OUTBOX_BACKOFF, delay: 1_000 },
  removeOnComplete: true,
  removeOnFail: { age: 30 * 24 * 3600 },
} as const satisfies JobsOptions;

/** Follows placed calls' status by polling, when Twilio cannot send callbacks (no PUBLIC_URL). */
export const CALL_STATUS_QUEUE_NAME = 'call-status';
export const TRACK_CALL_JOB = 'track-call';

export interface TrackCallData {
  jobId: string;
  callSid: string;
  /** When tracking began, to bound it by the longest call. */
  since: string;
  polls: number;
}

/** The status polls of one call job: one job per call, polled again after `delayMs`, kept as long as failed calls when they give up. */
export const trackCallJobOptions = (config: Pick<Config, 'STATUS_POLL_INTERVAL_MS' | 'KEEP_FAILED_JOBS_HOURS'>, callJobId: string, delayMs: number): JobsOptions => ({
  jobId: jobIds.trackCall(callJobId),
  delay: delayMs,
  attempts: 10,
  backoff: { type: 'exponential', delay: config.STATUS_POLL_INTERVAL_MS },
  removeOnComplete: true,
  removeOnFail: { age: config.KEEP_FAILED_JOBS_HOURS * 3600 },
});

/** BullMQ priorities: lower runs first; FIFO within one level. */
export const PRIORITIES = { high: 1, normal: 2, low: 3 } as const;
export type PriorityName = keyof typeof PRIORITIES;
export const PRIORITY_NAMES = Object.keys(PRIORITIES) as [PriorityName, ...PriorityName[]];


/** Which call outcomes are dialed again, how often, and after how long. */
export interface RedialPolicy {
  on: RedialOutcome[];
  max: number;
  delayMs: number;
}


export const answeringMachineSchema = z.object({
  onHuman: z.enum(ANSWER_ACTIONS),
  onMachine: z.enum(ANSWER_ACTIONS),
  voicemailMessage: z.string().optional(),
});
export type AnsweringMachinePolicy = z.infer<typeof answeringMachineSchema>;

/** What one call job carries. Numbers are E.164, already validated by the producer. */
export const callJobDataSchema = z.object({
  to: z.string(),
  message: z.string(),
  from: z.string().optional(),
  lead_id: z.string().optional(),
  priority: z.enum(PRIORITY_NAMES),
  metadata: z.record(z.string(), z.unknown()).optional(),
  machineDetection: z.enum(['Enable', 'DetectMessageEnd']).optional(),
  /** Seconds to ring before the call counts as no-answer. */
  timeout: z.number().int().optional(),
  record: z.boolean().optional(),
  /** What the answered call does (`say` when absent: jobs from before connect modes). */
  connect: z.enum(CONNECT_MODES).optional(),
  /** Overrides AGENT_DIAL_TARGET for this call (`agent` mode). */
  agentTarget: z.string().optional(),
  /** Overrides AGENT_STREAM_URL for this call (`stream` mode). */
  streamUrl: z.string().optional(),
  /** Present when who answers changes what the call does: the call is dialed with answering-machine detection. */
  answeringMachine: answeringMachineSchema.optional(),
  /** The called person's IANA time zone, instead of the zones of the number. */
  recipientTimezone: z.string().optional(),
  /** Instead of CALLING_WINDOW: `Mon-Fri 09:00-20:00,Sat 10:00-18:00`, in the called person's time. */
  callingWindow: z.string().optional(),
  /** Instead of BLACKOUT_DATES: local dates with no calls. */
  blackoutDates: z.array(z.string()).optional(),
  /** Instead of FREQUENCY_CAP: `3/24h`. */
  frequencyCap: z.string().optional(),
  /** Instead of MIN_GAP_MINUTES. */
  minGapMinutes: z.number().int().optional(),
  /** ISO time after which the call is not dialed: it fails as expired. */
  notAfter: z.string().optional(),
  /** Overrides the configured redial policy for this call; `byOutcome` (campaigns) sets how often and how soon for each outcome. */
  redial: z
    .object({
      on: z.array(z.enum(REDIAL_OUTCOMES)).optional(),
      max: z.number().int().optional(),
      delayMs: z.number().int().optional(),
      byOutcome: z.partialRecord(z.enum(REDIAL_OUTCOMES), z.object({ max: z.number().int(), delayMs: z.number().int() })).optional(),
    })
    .optional(),
  /** Redials so far of this chain, by outcome (with `redial.byOutcome`). */
  redialCounts: z.partialRecord(z.enum(REDIAL_OUTCOMES), z.number().int()).optional(),
  /** The campaign this call dials a contact of, the contact's key in it, and which retry of the campaign's contacts it belongs to (0: the first pass). */
  campaignId: z.string().optional(),
  contactId: z.string().optional(),
  campaignRound: z.number().int().optional(),
  /** ISO time the call was due, for delayed calls. */
  scheduleAt: z.string().optional(),
  /** Id of the recurring schedule that produced this job. */
  recurringId: z.string().optional(),
  /** For a redial: the job whose outcome asked for it, the first job of the chain, and which redial this is. */
  redialOf: z.string().optional(),
  rootJobId: z.string().optional(),
  redialNumber: z.number().int().optional(),
  /** A callback: after the message, connect the person to the voice agent. */
  connectToAgent: z.boolean().optional(),
  /** The inbound call this job calls back, whose place in line (and slot) it uses. */
  callbackFor: z.string().optional(),
  /** The capacity slot this job uses, when it was given one before it ran (callbacks). */
  capacityHolder: z.string().optional(),
});
export type CallJobData = z.infer<typeof callJobDataSchema>;

/** What the answered call does: a callback is bridged to the agent; a job from before connect modes says its message. */
export const connectModeOf = (data: Pick<CallJobData, 'connect' | 'connectToAgent'>): ConnectMode => (data.connectToAgent ? 'agent' : (data.connect ?? 'say'));

/** Fields of a call job that only the service reads: never shown in the API's answers. */
export const INTERNAL_CALL_FIELDS = { connectToAgent: true, callbackFor: true, capacityHolder: true } as const;

/** What a completed call job returns. */
export interface CallJobResult {
  callSid: string;
  callStatus: string;
}

export interface CallJobPolicy {
  attempts: number;
  backoffMs: number;
  keepCompletedHours: number;
  keepFailedHours: number;
  keepCompletedMax: number;
  keepFailedMax: number;
}

/**
 * Backoff type of call jobs: exponential from `backoffMs`, but never sooner than the carrier's
 * `Retry-After`. The call worker implements it (see `carrierBackoff`).
 */
export const CARRIER_BACKOFF = 'carrier';

export function callJobOptions(policy: CallJobPolicy, priority: PriorityName): JobsOptions {
  return {
    priority: PRIORITIES[priority],
    attempts: policy.attempts,
    backoff: { type: CARRIER_BACKOFF, delay: policy.backoffMs },
    removeOnComplete: { age: policy.keepCompletedHours * 3600, count: policy.keepCompletedMax },
    removeOnFail: { age: policy.keepFailedHours * 3600, count: policy.keepFailedMax },
  };
}

/**
 * A call job as every producer adds it: its name, payload and options (priority from the payload,
 * attempts, backoff and trimming from the policy), its id from `jobIds` (never Redis's counter, which
 * a failover can roll back), and a delay where the producer has one.
 */
export function callJob(policy: CallJobPolicy, data: CallJobData, extra: { jobId: string; delay?: number }) {
  return {
    name: CALL_JOB,
    data,
    opts: { ...callJobOptions(policy, data.priority), ...(extra.delay !== undefined && { delay: extra.delay }), jobId: extra.jobId },
  };
}

/** What a job scheduler copies into each run of a recurring call; BullMQ names the runs itself. */
export const recurringCallTemplate = (policy: CallJobPolicy, data: CallJobData) => ({
  name: CALL_JOB,
  data,
  opts: callJobOptions(policy, data.priority),
});

/** The job policy that configuration sets. */
export const callJobPolicy = (config: Readonly<Config>): CallJobPolicy => ({
  attempts: config.CALL_ATTEMPTS,
  backoffMs: config.CALL_BACKOFF_MS,
  keepCompletedHours: config.KEEP_COMPLETED_JOBS_HOURS,
  keepFailedHours: config.KEEP_FAILED_JOBS_HOURS,
  keepCompletedMax: config.KEEP_COMPLETED_JOBS_MAX,
  keepFailedMax: config.KEEP_FAILED_JOBS_MAX,
});

/** Call records live as long as the longest-kept job they describe. */
export const callRecordTtlSeconds = (config: Readonly<Config>) =>
  Math.max(config.KEEP_COMPLETED_JOBS_HOURS, config.KEEP_FAILED_JOBS_HOURS) * 3600;

export const redialPolicy = (config: Readonly<Config>): RedialPolicy => ({
  on: config.REDIAL_ON,
  max: config.REDIAL_MAX,
  delayMs: config.REDIAL_DELAY_MS,
});

/** Workers note themselves here every few seconds; readiness wants one seen recently. */
export const workerHeartbeatKey = (prefix: string) => `${prefix}:workers:heartbeat`;
export const WORKER_HEARTBEAT_MS = 5_000;
