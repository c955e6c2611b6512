import type { Queue } from 'bullmq';
import { AppError, serviceUnavailable, validationError, type ErrorDetail } from '../errors.js';
import { callJob, recurringCallTemplate, type CallJobData, type CallJobPolicy } from '../jobs/call-jobs.js';
import type { CallLog } from '../call-log/call-log-writer.js';
import { nextCronRun } from './cron-schedule.js';
import { jobIds } from '../jobs/job-ids.js';
import type { ReplicaAcknowledgement, ReplicaShortfall } from '../lib/redis-replication.js';
import { settleConnect, type RequestedCall } from '../connect/connect-request.js';
import type { ConnectSettings } from '../connect/connect-settings.js';
import type { Clock, ContactGate, GateVerdict } from '../contact/contact-gate.js';
import type { Metrics } from '../metrics.js';
import type { CallRecordStore } from './call-record-store.js';

/** A validated call as the API received it; its connect mode and answering-machine policy may come from the defaults. */
export type NewCall = Omit<RequestedCall, 'scheduleAt' | 'recurringId'>;

export interface ScheduledCall {
  jobId: string;
  data: CallJobData;
  /** When the call becomes due; now for immediate calls. */
  runAt: Date;
}

export interface RecurringSchedule extends ScheduledCall {
  recurringId: string;
  cronExpression: string;
  timezone?: string;
}

export interface SchedulingLimits {
  maxScheduleAheadMs: number;
  recurringMinIntervalSeconds: number;
}

export interface SchedulingDeps {
  callQueue: Queue<CallJobData>;
  policy: CallJobPolicy;
  limits: SchedulingLimits;
  callLog: CallLog;
  /** Fills in each call's connect mode and answering-machine policy, and refuses a call whose agent is not configured. */
  connect: ConnectSettings;
  /**
   * A call out of its calling window when it is scheduled waits, delayed, for the next opening from
   * the start (the gate decides again before the dial): a backlog queued at night is sorted at once.
   */
  window?: { gate: Pick<ContactGate, 'deferredByWindow'>; clock: Clock; callRecords: Pick<CallRecordStore, 'recordGate'>; metrics?: Pick<Metrics, 'gateDecisions'> };
  /**
   * Waits for replicas to hold what the queue's connection wrote, so a call is acknowledged only once
   * a failover cannot lose it. Built on the connection the queue uses: WAIT covers that connection's writes.
   */
  replicas?: ReplicaAcknowledgement;
  clock?: () => Date;
}

export type DelayedTiming = { scheduleAt: string } | { delayMs: number };

/**
 * The request's Idempotency-Key, scoped as the API stores it. With one, job ids follow from it: if a
 * request fails after some of its jobs reached Redis (the connection dropped mid-write), the retry
 * finds those jobs already there and adds only the rest, so nobody is called twice.
 */
export interface RequestIdentity {
  idempotencyKey: string | undefined;
}

/** Calls per Redis pipeline of a bulk request. */
const BULK_PIPELINE_SIZE = 200;

const ANONYMOUS: RequestIdentity = { idempotencyKey: undefined };

const jobIdsFrom = ({ idempotencyKey }: RequestIdentity): ((index?: number) => string) =>
  idempotencyKey === undefined ? () => jobIds.newCall() : jobIds.fromIdempotencyKey(idempotencyKey);

const notReplicated = ({ wanted, acknowledged, timeoutMs }: ReplicaShortfall) =>
  serviceUnavailable(
    `Nothing was confirmed: ${acknowledged} of ${wanted} Redis replicas acknowledged the write within ${timeoutMs} ms, so it may not survive a failover. ` +
      'Send the request again with the same Idempotency-Key: it schedules nothing twice',
  );

export function createSchedulingService({ callQueue, policy, limits, callLog, connect, window, replicas, clock = () => new Date() }: SchedulingDeps) {
  const replicated = async () => {
    const shortfall = await replicas?.confirm();
    if (shortfall) throw notReplicated(shortfall);
  };
  /** A call whose notAfter has passed, or comes before the call is due, could never be dialed. */
  const checkNotAfter = (call: NewCall, dueAt: number, index?: number) => {
    if (call.notAfter === undefined || Date.parse(call.notAfter) > dueAt) return;
    throw validationError('notAfter is before the call is due', [
      { field: 'notAfter', message: `${call.notAfter} is not after the call is due (${new Date(dueAt).toISOString()})`, ...(index !== undefined && { index }) },
    ]);
  };
  const settle = (call: NewCall, index?: number, dueAt = clock().getTime()): CallJobData => {
    checkNotAfter(call, dueAt, index);
    return settleConnect(call, connect, index);
  };
  /** How long a call due now waits for its window, and the gate's decision to say so. */
  const windowWait = (data: CallJobData) => {
    const verdict = window?.gate.deferredByWindow(data);
    return verdict ? { verdict, delayMs: Math.max(0, Math.ceil(window!.clock.realDelayMs(Date.parse(verdict.until!) - window!.clock.now()))) } : undefined;
  };
  /** How the call log shows a call that waits for its window from the start. */
  const deferredLog = (wait: ReturnType<typeof windowWait>) => (wait ? { deferred: { reason: wait.verdict.reason, until: wait.verdict.until! } } : {});
  const noteDeferrals = async (deferred: Array<{ jobId: string; verdict: GateVerdict }>) => {
    await Promise.all(deferred.map(({ jobId, verdict }) => window!.callRecords.recordGate(jobId, verdict)));
    for (const { verdict } of deferred) window!.metrics?.gateDecisions.inc({ decision: verdict.decision, reason: verdict.reason });
  };

  const add = async (data: CallJobData, request: RequestIdentity, requestedDelayMs = 0): Promise<ScheduledCall> => {
    const jobId = jobIdsFrom(request)();
    const wait = requestedDelayMs === 0 ? windowWait(data) : undefined;
    const delayMs = wait?.delayMs ?? requestedDelayMs;
    const { name, opts } = callJob(policy, data, { delay: delayMs, jobId });
    const job = await callQueue.add(name, data, opts);
    if (wait) await noteDeferrals([{ jobId: job.id!, verdict: wait.verdict }]);
    await callLog.scheduled([{ jobId: job.id!, data, ...deferredLog(wait) }]);
    await replicated();
    return { jobId: job.id!, data, runAt: new Date(job.timestamp + delayMs) };
  };

  /** Every call of a bulk request settled, or one error naming each call that cannot be placed. */
  const settleAll = (calls: NewCall[]): CallJobData[] => {
    const settled: CallJobData[] = [];
    const problems: ErrorDetail[] = [];
    calls.forEach((call, index) => {
      try {
        settled.push(settle(call, index));
      } catch (error) {
        if (!(error instanceof AppError) || !error.details) throw error;
        problems.push(...error.details);
      }
    });
    if (problems.length > 0) throw validationError(`${new Set(problems.map((detail) => detail.index)).size} of the calls cannot be placed as asked: ${problems[0]!.message}`, problems);
    return settled;
  };

  const delayFor = (timing: DelayedTiming): { delayMs: number; field: string } => {
    if ('delayMs' in timing) return { delayMs: timing.delayMs, field: 'delayMs' };
    const delayMs = Date.parse(timing.scheduleAt) - clock().getTime();
    if (delayMs <= 0) {
      throw validationError('scheduleAt is in the past', [
        { field: 'scheduleAt', message: `${timing.scheduleAt} is not in the future` },
      ]);
    }
    return { delayMs, field: 'scheduleAt' };
  };

  return {
    scheduleNow: async (call: NewCall, request = ANONYMOUS) => add(settle(call), request),

    async scheduleDelayed(requested: NewCall, timing: DelayedTiming, request = ANONYMOUS): Promise<ScheduledCall> {
      const { delayMs, field } = delayFor(timing);
      const call = settle(requested, undefined, clock().getTime() + delayMs);
      if (delayMs > limits.maxScheduleAheadMs) {
        throw validationError(`${field} is too far ahead`, [
          { field, message: `calls may be scheduled at most ${limits.maxScheduleAheadMs} ms ahead` },
        ]);
      }
      const scheduleAt = new Date(clock().getTime() + delayMs).toISOString();
      return add({ ...call, scheduleAt: 'scheduleAt' in timing ? timing.scheduleAt : scheduleAt }, request, delayMs);
    },

    async scheduleRecurring(requested: NewCall, cronExpression: string, timezone?: string): Promise<RecurringSchedule> {
      const call = settle(requested);
      const nextRun = nextCronRun(cronExpression, timezone, limits.recurringMinIntervalSeconds, clock());
      const recurringId = jobIds.newRecurring();
      const data: CallJobData = { ...call, recurringId };
      const job = await callQueue.upsertJobScheduler(
        recurringId,
        { pattern: cronExpression, ...(timezone && { tz: timezone }) },
        recurringCallTemplate(policy, data),
      );
      await replicated();
      return {
        recurringId,
        cronExpression,
        ...(timezone && { timezone }),
        jobId: job.id!,
        data,
        runAt: nextRun,
      };
    },

    /**
     * The caller has validated every call: one bad call refuses them all. They are written in
     * pipelines, which a dropped connection can cut short: retried with its Idempotency-Key, the
     * request then adds only the calls that are missing.
     */
    async scheduleBulk(requested: NewCall[], request = ANONYMOUS): Promise<ScheduledCall[]> {
      const calls = settleAll(requested);
      const jobIdOf = jobIdsFrom(request);
      const waits = calls.map(windowWait);
      const entries = calls.map((data, index) => {
        const jobId = jobIdOf(index);
        return callJob(policy, data, { jobId, ...(waits[index] && { delay: waits[index].delayMs }) });
      });
      // Several pipelines, sent in order on one connection: Redis runs the first while the rest are built.
      const chunks = Array.from({ length: Math.ceil(entries.length / BULK_PIPELINE_SIZE) }, (_, index) =>
        entries.slice(index * BULK_PIPELINE_SIZE, (index + 1) * BULK_PIPELINE_SIZE),
      );
      const jobs = (await Promise.all(chunks.map((chunk) => callQueue.addBulk(chunk)))).flat();
      const scheduled = jobs.map((job, index) => ({ jobId: job.id!, data: calls[index]!, runAt: new Date(job.timestamp + (waits[index]?.delayMs ?? 0)) }));
      await noteDeferrals(jobs.flatMap((job, index) => (waits[index] ? [{ jobId: job.id!, verdict: waits[index].verdict }] : [])));
      await callLog.scheduled(
        scheduled.map((call, index) => ({ ...call, ...deferredLog(waits[index]) })),
      );
      await replicated();
      return scheduled;
    },
  };
}

export type SchedulingService = ReturnType<typeof createSchedulingService>;
