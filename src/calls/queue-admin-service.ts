import type { Job, Queue } from 'bullmq';
import type { RedisConnection as Redis } from '../lib/redis.js';
import type { CallRecordStore } from './call-record-store.js';
import { jobIds } from '../jobs/job-ids.js';
import { createSchedulerRuns } from './scheduler-runs.js';
import { AppError, conflict, jobNotFound } from '../errors.js';
import type { CallJobData } from '../jobs/call-jobs.js';
import type { CallLog } from '../call-log/call-log-writer.js';
import { toJobView, type JobStateName, type JobView } from './job-view.js';

export type ListableState = JobStateName;
export const CLEANABLE_STATES = ['completed', 'failed', 'delayed', 'waiting'] as const;
export type CleanableState = (typeof CLEANABLE_STATES)[number];

/** The BullMQ sets behind each state a caller can name. */
const BULLMQ_TYPES = {
  waiting: ['wait', 'prioritized', 'waiting-children'],
  active: ['active'],
  completed: ['completed'],
  failed: ['failed'],
  delayed: ['delayed'],
} as const;

export interface QueueStats {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
  total: number;
}

export interface RecurringView {
  recurringId: string;
  cronExpression: string | null;
  timezone: string | null;
  nextRunAt: string | null;
  /** The next run is due and has not started (a backlog, a paused queue, no worker): the schedule waits for it. */
  overdue: boolean;
  /** The run that is waiting or delayed; the schedule's next one is added only when it starts. */
  pendingRunJobId: string | null;
  iterationCount: number;
  data: CallJobData | null;
}

const NOT_STARTED = ['waiting', 'prioritized', 'delayed', 'paused', 'waiting-children'];

export interface QueueAdminDeps {
  callQueue: Queue<CallJobData>;
  callRecords: CallRecordStore;
  redis: Redis;
  /** Where a campaign's call cancelled by hand is logged `cancelled`, which closes its contact in the campaign. */
  callLog?: Pick<CallLog, 'attempt'>;
}

export function createQueueAdminService({ callQueue, callRecords, redis, callLog }: QueueAdminDeps) {
  const schedulerRuns = createSchedulerRuns(redis, callQueue);
  const findJob = async (jobId: string): Promise<Job<CallJobData>> => {
    const job = await callQueue.getJob(jobId);
    if (!job) throw jobNotFound(jobId);
    return job as Job<CallJobData>;
  };

  const viewAll = async (jobs: Job<CallJobData>[], stateOf: (job: Job<CallJobData>) => Promise<string>) => {
    const present = jobs.filter(Boolean);
    const [records, states] = await Promise.all([
      callRecords.getMany(present.map((job) => job.id!)),
      Promise.all(present.map(stateOf)),
    ]);
    return present.map((job, index) => toJobView(job, states[index]!, records[index]));
  };

  return {
    async getJob(jobId: string): Promise<JobView> {
      const job = await findJob(jobId);
      const [state, record] = await Promise.all([job.getState(), callRecords.get(jobId)]);
      // A call that finished between reading the job and its state is read again, so its view says how it ended.
      const finishedSince = (state === 'completed' || state === 'failed') && job.finishedOn === undefined;
      return toJobView(finishedSince ? await findJob(jobId) : job, state, record);
    },

    /**
     * Removes a call that has not started. A run of a live schedule is stopped through the schedule
     * (without it, BullMQ would never add the schedule's next run); a run left by a deleted one is
     * cancelled like any call.
     */
    async cancel(jobId: string): Promise<void> {
      const job = await findJob(jobId);
      if (job.data.recurringId && (await callQueue.getJobScheduler(job.data.recurringId))) {
        throw conflict('RECURRING_JOB', `Job ${jobId} belongs to recurring schedule ${job.data.recurringId}; delete the schedule with DELETE /api/queue/recurring/${job.data.recurringId}`);
      }
      const state = await job.getState();
      if (!['waiting', 'prioritized', 'delayed'].includes(state)) {
        throw conflict('JOB_NOT_CANCELLABLE', `Job ${jobId} is ${state} and can no longer be cancelled`);
      }
      try {
        await job.remove();
      } catch {
        // A worker took the job between the state check and the removal.
        throw conflict('JOB_NOT_CANCELLABLE', `Job ${jobId} started while being cancelled`);
      }
      if (job.data.campaignId) await callLog?.attempt(jobId, job.data, job.attemptsMade + 1, { status: 'cancelled' });
      await callRecords.remove([jobId]);
    },

    async retry(jobId: string): Promise<void> {
      const job = await findJob(jobId);
      const state = await job.getState();
      if (state !== 'failed') throw conflict('JOB_NOT_FAILED', `Job ${jobId} is ${state}; only failed jobs can be retried`);
      await job.retry('failed');
    },

    async stats(): Promise<{ stats: QueueStats; paused: boolean }> {
      const [counts, paused] = await Promise.all([
        callQueue.getJobCounts('waiting', 'prioritized', 'waiting-children', 'active', 'completed', 'failed', 'delayed'),
        callQueue.isPaused(),
      ]);
      const count = (type: string) => counts[type] ?? 0;
      const stats = {
        waiting: count('waiting') + count('prioritized') + count('waiting-children'),
        active: count('active'),
        completed: count('completed'),
        failed: count('failed'),
        delayed: count('delayed'),
        total: 0,
      };
      stats.total = stats.waiting + stats.active + stats.completed + stats.failed + stats.delayed;
      return { stats, paused };
    },

    async list(state: ListableState, start: number, end: number): Promise<{ jobs: JobView[]; total: number }> {
      const types = [...BULLMQ_TYPES[state]];
      const [jobs, total] = await Promise.all([
        callQueue.getJobs(types, start, end, state !== 'completed' && state !== 'failed') as Promise<Job<CallJobData>[]>,
        callQueue.getJobCountByTypes(...types),
      ]);
      return { jobs: await viewAll(jobs, async () => state), total };
    },

    /** Removes jobs older than `grace` ms; without a state, finished ones (completed and failed). */
    async clean(grace: number, limit: number, state?: CleanableState): Promise<Record<string, number>> {
      const states: CleanableState[] = state ? [state] : ['completed', 'failed'];
      const cleaned: Record<string, number> = {};
      for (const name of states) {
        const types = name === 'waiting' ? (['wait', 'prioritized'] as const) : ([name] as const);
        let removed: string[] = [];
        for (const type of types) removed = removed.concat(await callQueue.clean(grace, limit - removed.length, type));
        await callRecords.remove(removed);
        cleaned[name] = removed.length;
      }
      return cleaned;
    },

    pause: () => callQueue.pause(),
    resume: () => callQueue.resume(),

    async listRecurring(): Promise<RecurringView[]> {
      const schedulers = await callQueue.getJobSchedulers(0, -1, true);
      const now = Date.now();
      return Promise.all(
        schedulers.map(async (scheduler) => {
          const runId = scheduler.next ? jobIds.recurringRun(scheduler.key, scheduler.next) : undefined;
          const runState = runId ? await callQueue.getJobState(runId) : 'unknown';
          return {
            recurringId: scheduler.key,
            cronExpression: scheduler.pattern ?? null,
            timezone: scheduler.tz ?? null,
            nextRunAt: scheduler.next ? new Date(scheduler.next).toISOString() : null,
            overdue: scheduler.next !== undefined && scheduler.next < now && runState !== 'active',
            pendingRunJobId: runId && NOT_STARTED.includes(runState) ? runId : null,
            iterationCount: scheduler.iterationCount ?? 0,
            data: (scheduler.template?.data as CallJobData | undefined) ?? null,
          };
        }),
      );
    },

    /**
     * Stops a schedule and removes its runs that have not started; a run being dialed finishes.
     * BullMQ removes the schedule's next run itself while it is delayed (and refuses to remove it
     * sooner), but leaves one that is due and waiting, and earlier runs waiting to retry.
     */
    async removeRecurring(recurringId: string): Promise<{ removedRuns: number }> {
      const scheduler = await callQueue.getJobScheduler(recurringId);
      const nextRunId = scheduler?.next ? jobIds.recurringRun(recurringId, scheduler.next) : undefined;
      const nextRunDelayed = nextRunId !== undefined && (await callQueue.getJobState(nextRunId)) === 'delayed';

      const removedSchedule = await callQueue.removeJobScheduler(recurringId);
      const removed = nextRunDelayed && !(await callQueue.getJob(nextRunId)) ? [nextRunId] : [];
      for (const runId of await schedulerRuns.pending(recurringId)) {
        // 0 when a worker took the run meanwhile: it is being dialed and is left to finish.
        if (await callQueue.remove(runId)) removed.push(runId);
      }
      await callRecords.remove(removed);
      // Runs left by a schedule deleted earlier are removed too.
      if (!removedSchedule && removed.length === 0) throw new AppError(404, 'RECURRING_NOT_FOUND', `No recurring schedule with id ${recurringId}`);
      return { removedRuns: removed.length };
    },
  };
}

export type QueueAdminService = ReturnType<typeof createQueueAdminService>;
