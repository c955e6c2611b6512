import type { Queue } from 'bullmq';
import type { CallRecordStore, StatusChange } from './call-record-store.js';
import { callJob, type CallJobData, type CallJobPolicy, type RedialPolicy } from '../jobs/call-jobs.js';
import { jobIds } from '../jobs/job-ids.js';
import type { CallEvent } from '../carriers/call-status.js';
import { maskNumber } from '../lib/mask-number.js';
import type { Logger } from '../logger.js';
import { processMetrics } from '../metrics.js';
import type { CallLog } from '../call-log/call-log-writer.js';
import type { CapacityService } from '../capacity/capacity-service.js';
import { callOutcome, redialOutcomeOf, type CallOutcome } from './call-outcome.js';
import type { CallActivity } from './call-activity.js';

export interface CallLifecycleDeps {
  callRecords: CallRecordStore;
  callQueue: Queue<CallJobData>;
  jobPolicy: CallJobPolicy;
  redialDefaults: RedialPolicy;
  callLog: CallLog;
  capacity?: Pick<CapacityService, 'renew' | 'callEnded'>;
  /** Calls ended a minute, for the operator console. */
  activity?: Pick<CallActivity, 'ended'>;
  logger: Logger;
}

/**
 * Where a call's progress lands, whoever reports it (a status callback, a poll): the record moves
 * forward only, and a call that ended busy, unanswered or failed is dialed again per its policy.
 */
export function createCallLifecycle({ callRecords, callQueue, jobPolicy, redialDefaults, callLog, capacity, activity, logger }: CallLifecycleDeps) {
  /** The redial an outcome asks for, if any: by the call's per-outcome rules (campaigns), else by its policy. */
  const redialFor = (data: CallJobData, outcome: CallOutcome): { delayMs: number; redialCounts?: CallJobData['redialCounts'] } | undefined => {
    const asked = redialOutcomeOf(outcome);
    if (!asked) return undefined;
    const byOutcome = data.redial?.byOutcome;
    if (byOutcome) {
      const rule = byOutcome[asked];
      const used = data.redialCounts?.[asked] ?? 0;
      return rule && used < rule.max ? { delayMs: rule.delayMs, redialCounts: { ...data.redialCounts, [asked]: used + 1 } } : undefined;
    }
    const policy: RedialPolicy = { ...redialDefaults, ...data.redial };
    return policy.on.includes(asked) && (data.redialNumber ?? 0) < policy.max ? { delayMs: policy.delayMs } : undefined;
  };

  const redialIfAsked = async (jobId: string, data: CallJobData, outcome: CallOutcome) => {
    const next = redialFor(data, outcome);
    if (!next) return;
    const redialNumber = (data.redialNumber ?? 0) + 1;
    const rootJobId = data.rootJobId ?? jobId;
    const redialJobId = jobIds.redial(rootJobId, redialNumber);
    const { recurringId: _recurring, scheduleAt: _due, ...call } = data;
    const redial: CallJobData = {
      ...call,
      redialOf: jobId,
      rootJobId,
      redialNumber,
      ...(next.redialCounts && { redialCounts: next.redialCounts }),
      scheduleAt: new Date(Date.now() + next.delayMs).toISOString(),
    };
    // The id is derived from the chain, so a repeated final status cannot add a second redial.
    const job = callJob(jobPolicy, redial, { delay: next.delayMs, jobId: redialJobId });
    await callQueue.add(job.name, job.data, job.opts);
    await callRecords.setRedialJob(jobId, redialJobId);
    await callLog.scheduled([{ jobId: redialJobId, data: redial }]);
    logger.info({ jobId, redialJobId, redialNumber, outcome, delayMs: next.delayMs, to: maskNumber(data.to) }, 'call will be redialed');
  };

  return {
    async report(jobId: string, event: CallEvent): Promise<StatusChange> {
      const change = await callRecords.applyStatus(jobId, event);
      if (change === 'ignored') return change;
      logger.info(
        { jobId, callStatus: event.status, durationSeconds: event.durationSeconds, answeredBy: event.answeredBy, sipResponseCode: event.sipResponseCode, errorCode: event.errorCode },
        change === 'final' ? 'call ended' : 'call progressed',
      );
      const job = await callQueue.getJob(jobId);
      if (!job) {
        logger.warn({ jobId, callStatus: event.status }, 'call progressed but its job is gone: not logged, no redial considered');
        return change;
      }
      const slotOwner = { jobId, data: job.data };
      await callLog.call(jobId, job.data);
      if (change !== 'final') {
        await capacity?.renew(slotOwner);
        return change;
      }
      const outcome = callOutcome(await callRecords.get(jobId)) ?? (event.status as CallOutcome);
      processMetrics().callOutcomes.inc({ outcome });
      await activity?.ended(jobId, outcome);
      if (job.data.campaignId) processMetrics().campaignOutcomes.inc({ campaign: job.data.campaignId, outcome });
      if (event.status === 'completed' && event.durationSeconds !== undefined) processMetrics().callDuration.observe(event.durationSeconds);
      // The call is over: its slot goes to the next caller or call (one a machine took was freed when that was known).
      await capacity?.callEnded(slotOwner, event.status === 'completed' ? event.durationSeconds : undefined);
      await redialIfAsked(jobId, job.data, outcome);
      return change;
    },
  };
}

export type CallLifecycle = ReturnType<typeof createCallLifecycle>;
