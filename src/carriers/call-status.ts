/** A phone call's own life, as Twilio reports it: beside the job, never instead of it. */
export const FINAL_CALL_STATUSES = ['completed', 'busy', 'no-answer', 'failed', 'canceled'] as const;
export type FinalCallStatus = (typeof FINAL_CALL_STATUSES)[number];

/** Statuses only move forward: an event that ranks at or below the current one is stale or repeated. */
export const CALL_STATUS_RANK: Readonly<Record<string, number>> = {
  queued: 0,
  initiated: 1,
  ringing: 2,
  'in-progress': 3,
  completed: 4,
  busy: 4,
  'no-answer': 4,
  failed: 4,
  canceled: 4,
};

export const isFinalCallStatus = (status: string): status is FinalCallStatus =>
  (FINAL_CALL_STATUSES as readonly string[]).includes(status);

/** One report of a call's progress, from a status callback, a poll, or the carrier's answer. */
export interface CallEvent {
  status: string;
  /** The call the event is about; an event about another call than the job's is ignored. */
  callSid?: string;
  /** ISO time the carrier gave for the event, or when it was seen. */
  at: string;
  durationSeconds?: number;
  answeredBy?: string;
  sipResponseCode?: number;
  errorCode?: string;
  errorMessage?: string;
}

/**
 * Who answered, from Twilio's `AnsweredBy`: `machine_start` and the `machine_end_*` values are an
 * answering machine, `fax` a fax, and `human` a person. `unknown` (detection could not tell, as
 * with silence) counts as a person: hanging up on a person who said nothing is the worse mistake.
 */
export type Answerer = 'human' | 'machine' | 'fax';

export const answererOf = (answeredBy: string | undefined): Answerer =>
  answeredBy?.startsWith('machine') ? 'machine' : answeredBy === 'fax' ? 'fax' : 'human';
