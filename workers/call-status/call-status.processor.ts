import { DelayedError, type Job } from 'bullmq';
import type { CallRecordStore } from '../../src/calls/call-record-store.js';
import type { Carrier } from '../../src/carriers/carrier.js';
import type { TrackCallData } from '../../src/jobs/call-jobs.js';
import type { CallLifecycle } from '../../src/calls/call-lifecycle.js';
import type { Logger } from '../../src/logger.js';

export interface CallStatusDeps {
  dialer: Carrier;
  callRecords: CallRecordStore;
  lifecycle: CallLifecycle;
  pollIntervalMs: number;
  maxCallDurationSeconds: number;
  logger: Logger;
}

const MAX_POLL_INTERVAL_MS = 60_000;

export const nextPollDelay = (pollIntervalMs: number, polls: number) => Math.min(pollIntervalMs * 1.5 ** polls, MAX_POLL_INTERVAL_MS);

/**
 * Polls one placed call until it ends, with a growing interval, for when no status callbacks can
 * arrive. The job sleeps between polls as a delayed job, so it holds no worker slot while it waits.
 */
export async function trackCallStatus(job: Job<TrackCallData>, token: string | undefined, deps: CallStatusDeps): Promise<string> {
  const { jobId, callSid, since, polls } = job.data;
  const record = await deps.callRecords.get(jobId);
  if (record?.final) return record.callStatus ?? 'ended';

  const event = await deps.dialer.fetchCall!(callSid);
  const change = await deps.lifecycle.report(jobId, { ...event, callSid });
  if (change === 'final' || (change === 'ignored' && record?.final)) return event.status;

  // Twilio ends a call at its TimeLimit; one that outlives it by as long again (at most a minute) is hung up.
  const limitMs = deps.maxCallDurationSeconds * 1000;
  const overrun = Date.now() - Date.parse(since) > limitMs + Math.min(limitMs, 60_000);
  if (overrun && deps.dialer.endCall) {
    deps.logger.warn({ jobId, callSid }, 'call outlived the longest allowed duration; hanging up');
    await deps.dialer.endCall(callSid);
  }
  await job.updateData({ ...job.data, polls: polls + 1 });
  await job.moveToDelayed(Date.now() + nextPollDelay(deps.pollIntervalMs, polls), token);
  throw new DelayedError();
}
