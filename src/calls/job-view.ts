import type { Job } from 'bullmq';
import type { CallRecord, GateRecord } from './call-record-store.js';
import { PRIORITIES, type AnswerAction, type CallJobData, type PriorityName } from '../jobs/call-jobs.js';
import { callOutcome, type CallOutcome } from './call-outcome.js';

export const JOB_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const;
export type JobStateName = (typeof JOB_STATES)[number];

/** A call job as the API shows it: the queue's view plus what is known of the phone call. */
export interface JobView {
  jobId: string;
  state: JobStateName | 'unknown';
  progress: number | Record<string, unknown>;
  data: CallJobData;
  priority: PriorityName;
  attemptsMade: number;
  maxAttempts: number;
  /** Why the job failed: only for a failed job. */
  failedReason: string | null;
  /** BullMQ keeps the last attempt's error on a job that then retried or completed: shown here, not as a failure. */
  previousAttemptError: string | null;
  createdAt: string;
  scheduledFor: string | null;
  processedAt: string | null;
  finishedAt: string | null;
  callSid: string | null;
  callStatus: string | null;
  /** The contactability gate's last decision before a dial: dial, defer (until when) or refuse, and why. */
  gate: { decision: GateRecord['decision']; reason: string; until: string | null; at: string } | null;
  call: CallView;
}

/** The phone call's own life, beside the job's: "job completed" only means the carrier accepted it. */
export interface CallView {
  sid: string | null;
  status: string | null;
  final: boolean;
  timeline: Array<{ status: string; at: string }>;
  dialedAt: string | null;
  placedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  answeredBy: string | null;
  sipResponseCode: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  redialJobId: string | null;
  /** How the call ended, once it has: the final status, or voicemail-left / machine-hangup when an answering machine took it. */
  outcome: CallOutcome | null;
  /** What the call did once it was known who answered: connect, voicemail or hangup (calls with an answering-machine policy). */
  answerAction: AnswerAction | null;
}

export function toCallView(record: CallRecord | undefined): CallView {
  return {
    sid: record?.callSid ?? null,
    status: record?.callStatus ?? null,
    final: record?.final ?? false,
    timeline: record?.timeline ?? [],
    dialedAt: record?.dialedAt ?? null,
    placedAt: record?.placedAt ?? null,
    endedAt: record?.endedAt ?? null,
    durationSeconds: record?.durationSeconds ?? null,
    answeredBy: record?.answeredBy ?? null,
    sipResponseCode: record?.sipResponseCode ?? null,
    errorCode: record?.errorCode ?? null,
    errorMessage: record?.errorMessage ?? null,
    redialJobId: record?.redialJobId ?? null,
    outcome: callOutcome(record) ?? null,
    answerAction: record?.answerAction ?? null,
  };
}

/** BullMQ keeps prioritized jobs apart from plain waiting ones; to a caller both are waiting. */
export function toStateName(state: string): JobStateName | 'unknown' {
  if (state === 'prioritized' || state === 'waiting-children' || state === 'wait') return 'waiting';
  return (JOB_STATES as readonly string[]).includes(state) ? (state as JobStateName) : 'unknown';
}

const iso = (millis: number | undefined) => (millis ? new Date(millis).toISOString() : null);

const priorityName = (priority: number): PriorityName =>
  (Object.keys(PRIORITIES) as PriorityName[]).find((name) => PRIORITIES[name] === priority) ?? 'normal';

export function toJobView(job: Job<CallJobData>, state: string, record: CallRecord | undefined): JobView {
  const attemptError = job.failedReason || null;
  return {
    jobId: job.id!,
    state: toStateName(state),
    // A job is one dial: once it completed, it is done.
    progress: state === 'completed' ? 100 : (job.progress as number | Record<string, unknown>),
    data: job.data,
    priority: priorityName(job.opts.priority ?? PRIORITIES.normal),
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    failedReason: state === 'failed' ? attemptError : null,
    previousAttemptError: state === 'failed' ? null : attemptError,
    createdAt: new Date(job.timestamp).toISOString(),
    // The job's own delay is reset when it becomes due and reused for retry backoffs; its options keep the one it was added with.
    scheduledFor: new Date(job.timestamp + (job.opts.delay ?? 0)).toISOString(),
    processedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
    callSid: record?.callSid ?? null,
    callStatus: record?.callStatus ?? null,
    gate: record?.gate ? { decision: record.gate.decision, reason: record.gate.reason, until: record.gate.until ?? null, at: record.gate.at } : null,
    call: toCallView(record),
  };
}
