import type { Queue } from 'bullmq';
import type { Config } from '../../src/config.js';
import { TRACK_CALL_JOB, type TrackCallData } from '../../src/jobs/call-jobs.js';
import { jobIds } from '../../src/jobs/job-ids.js';
import { nextPollDelay } from './call-status.processor.js';

/** Starts following placed calls by polling the carrier, for when no status callback can reach this service. */
export function createStatusPolls(queue: Queue<TrackCallData>, config: Pick<Config, 'STATUS_POLL_INTERVAL_MS' | 'KEEP_FAILED_JOBS_HOURS'>) {
  return {
    async track(jobId: string, callSid: string): Promise<void> {
      const data = { jobId, callSid, since: new Date().toISOString(), polls: 0 };
      await queue.add(TRACK_CALL_JOB, data, {
        jobId: jobIds.trackCall(jobId),
        delay: nextPollDelay(config.STATUS_POLL_INTERVAL_MS, 0),
        attempts: 10,
        backoff: { type: 'exponential', delay: config.STATUS_POLL_INTERVAL_MS },
        removeOnComplete: true,
        removeOnFail: { age: config.KEEP_FAILED_JOBS_HOURS * 3600 },
      });
    },
  };
}

export type StatusPolls = ReturnType<typeof createStatusPolls>;
