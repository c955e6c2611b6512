import type { CallJobData } from '../jobs/call-jobs.js';

/**
 * Who a slot belongs to, as the capacity store names it: `call:<CallSid>` for an inbound caller
 * (the store's scripts write this form too), `job:<jobId>` for an outbound call. Only capacity/
 * knows the form; the rest of the service names the call or the job.
 */
export type SlotOwner =
  /** An outbound call job: a callback holds the slot its caller was given while waiting. */
  | { jobId: string; data: Pick<CallJobData, 'capacityHolder' | 'callbackFor'> }
  /** An inbound call, by the carrier's call SID. */
  | { callSid: string };

export const holderForCall = (callSid: string) => `call:${callSid}`;
const holderForJob = (jobId: string) => `job:${jobId}`;

export const holderOf = (owner: SlotOwner) => ('callSid' in owner ? holderForCall(owner.callSid) : (owner.data.capacityHolder ?? holderForJob(owner.jobId)));

/** What the store keeps about a holder, for the holders list and reconciliation. */
export const holderInfo = (owner: SlotOwner) =>
  'callSid' in owner ? { kind: 'inbound' as const, callSid: owner.callSid } : { kind: owner.data.callbackFor ? ('callback' as const) : ('outbound' as const), jobId: owner.jobId };
