import type { Queue } from 'bullmq';
import type { CallRecordStore } from '../calls/call-record-store.js';
import type { CallJobData } from '../jobs/call-jobs.js';
import { callContextView, type CallContextView } from './call-context.js';

/** The lead's context of an outbound call, found by the SID the agent sees; undefined for a call this service did not place. */
export function createContextLookup({ callRecords, callQueue }: { callRecords: Pick<CallRecordStore, 'jobIdForSid'>; callQueue: Queue<CallJobData> }) {
  return async (callSid: string): Promise<CallContextView | undefined> => {
    const jobId = await callRecords.jobIdForSid(callSid);
    const job = jobId ? await callQueue.getJob(jobId) : undefined;
    return job ? callContextView(callSid, job.id!, job.data) : undefined;
  };
}

export type ContextLookup = ReturnType<typeof createContextLookup>;
