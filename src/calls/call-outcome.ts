import { answererOf, type FinalCallStatus } from '../carriers/call-status.js';
import type { RedialOutcome } from '../jobs/call-jobs.js';
import type { CallRecord } from './call-record-store.js';

/**
 * How a call ended, as an operator reads it: the carrier's final status, except that a call an
 * answering machine took and the policy dealt with ended `voicemail-left` or `machine-hangup`
 * (the carrier says `completed` for both).
 */
export type CallOutcome = FinalCallStatus | 'voicemail-left' | 'machine-hangup';

export const CALL_OUTCOMES = ['completed', 'busy', 'no-answer', 'failed', 'canceled', 'voicemail-left', 'machine-hangup'] as const satisfies readonly CallOutcome[];

export function callOutcome(record: CallRecord | undefined): CallOutcome | undefined {
  if (!record?.final || !record.callStatus) return undefined;
  const status = record.callStatus as FinalCallStatus;
  if (status !== 'completed') return status;
  if (record.answerAction === 'voicemail') return 'voicemail-left';
  if (record.answerAction === 'hangup' && answererOf(record.answeredBy) !== 'human') return 'machine-hangup';
  return status;
}

/** The name a redial policy gives an outcome: both machine outcomes are `machine`. */
export const redialOutcomeOf = (outcome: CallOutcome): RedialOutcome | undefined =>
  outcome === 'voicemail-left' || outcome === 'machine-hangup' ? 'machine' : (['busy', 'no-answer', 'failed'] as const).find((status) => status === outcome);
