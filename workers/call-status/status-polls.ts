import type { Queue } from 'bullmq';
import type { Config } from '../../src/config.js';
import { TRACK_CALL_JOB, trackCallJobOptions, type TrackCallData } from '../../src/jobs/call-jobs.js';
import { nextPollDelay } from './call-status.processor.js';

/** Starts following placed calls by polling the carrier, for when no status callback can reach this service. */
export function createStatusPolls(queue: Queue<TrackCallData>, config: Pick<Config, 'STATUS_POLL_INTERVAL_MS' | 'KEEP_FAILED_JOBS_HOURS'>) {
  return {
    async track(jobId: string, callSid: string): Promise<void> {
      const data = { jobId, callSid, since: new Date().toISOString(), polls: 0 };
      await queue.add(TRACK_CALL_JOB, data, trackCallJobOptions(config, jobId, nextPollDelay(config.STATUS_POLL_INTERVAL_MS, 0)));
    },
  };
}

export type StatusPolls = ReturnType<typeof createStatusPolls>;
