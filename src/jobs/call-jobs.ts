import type { JobsOptions } from 'bullmq';
import type { Config } from '../config.js';

/** The job catalog: what the API produces and the call worker consumes. */
export const CALL_QUEUE_NAME = 'calls';

export const CALL_JOB = 'call';

/** BullMQ priorities: lower runs first; FIFO within one level. */
export const PRIORITIES = { high: 1, normal: 2, low: 3 } as const;
export type PriorityName = keyof typeof PRIORITIES;
export const PRIORITY_NAMES = Object.keys(PRIORITIES) as [PriorityName, ...PriorityName[]];

/** What one call job carries. Numbers are E.164, already validated by the producer. */
export interface CallJobData {
  to: string;
  message: string;
  from?: string;
  lead_id?: string;
  priority: PriorityName;
  metadata?: Record<string, unknown>;
  /** ISO time the call was due, for delayed calls. */
  scheduleAt?: string;
  /** Id of the recurring schedule that produced this job. */
  recurringId?: string;
}

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
}

export function callJobOptions(policy: CallJobPolicy, priority: PriorityName): JobsOptions {
  return {
    priority: PRIORITIES[priority],
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    removeOnComplete: { age: policy.keepCompletedHours * 3600 },
    removeOnFail: { age: policy.keepFailedHours * 3600 },
  };
}

/** The job policy that configuration sets. */
export const callJobPolicy = (config: Readonly<Config>): CallJobPolicy => ({
  attempts: config.CALL_ATTEMPTS,
  backoffMs: config.CALL_BACKOFF_MS,
  keepCompletedHours: config.KEEP_COMPLETED_JOBS_HOURS,
  keepFailedHours: config.KEEP_FAILED_JOBS_HOURS,
});

/** Call records live as long as the longest-kept job they describe. */
export const callRecordTtlSeconds = (config: Readonly<Config>) =>
  Math.max(config.KEEP_COMPLETED_JOBS_HOURS, config.KEEP_FAILED_JOBS_HOURS) * 3600;
