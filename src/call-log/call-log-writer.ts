import type { CallRecord } from '../calls/call-record-store.js';
import { callOutcome } from '../calls/call-outcome.js';
import { connectModeOf, type CallJobData } from '../jobs/call-jobs.js';

/** One row of `call_logs`: one dial attempt of one job, as it stands at `version`. */
export interface CallLogRow {
  job_id: string;
  attempt: number;
  redial_number: number;
  redial_of: string | null;
  root_job_id: string | null;
  recurring_id: string | null;
  lead_id: string | null;
  /** The campaign, its contact, and the pass over its contacts (0, then one more per retry). */
  campaign_id: string | null;
  contact_id: string | null;
  campaign_round: number;
  to_number: string;
  from_number: string | null;
  priority: string;
  status: string;
  final: boolean;
  /** How the call ended: the final status, or voicemail-left / machine-hangup. */
  outcome: string | null;
  /** say, agent or stream. */
  connect_mode: string;
  /** Why the contactability gate deferred or blocked the attempt (status deferred or blocked). */
  reason: string | null;
  /** When a deferred attempt may be dialed. */
  deferred_until: string | null;
  call_sid: string | null;
  timeline: Array<{ status: string; at: string }>;
  duration_seconds: number | null;
  answered_by: string | null;
  sip_response_code: number | null;
  /** The call's recordings at the carrier, when it was recorded. */
  recording_url: string | null;
  error_code: string | null;
  error_message: string | null;
  message: string;
  metadata: Record<string, unknown> | null;
  scheduled_at: string | null;
  dialed_at: string | null;
  placed_at: string | null;
  ended_at: string | null;
  version: number;
}

/** Where rows go: the outbox in production, so a Supabase outage never slows or fails a call. */
export interface CallLogWriter {
  write(rows: CallLogRow[]): Promise<void>;
}

/** The state of one attempt that did not (yet) place a call. */
export type AttemptStatus =
  | { status: 'scheduled' }
  | { status: 'dialing'; dialedAt: string }
  | { status: 'dial-failed' | 'error'; dialedAt?: string; errorCode?: string; errorMessage: string }
  /** The contactability gate held the attempt back until `until`, or blocked it for good. */
  | { status: 'deferred'; reason: string; until: string }
  | { status: 'blocked'; reason: string }
  /** The campaign was cancelled before the call was dialed. */
  | { status: 'cancelled' };

function baseRow(jobId: string, data: CallJobData, attempt: number, version: number): CallLogRow {
  return {
    job_id: jobId,
    attempt,
    redial_number: data.redialNumber ?? 0,
    redial_of: data.redialOf ?? null,
    root_job_id: data.rootJobId ?? null,
    recurring_id: data.recurringId ?? null,
    lead_id: data.lead_id ?? null,
    campaign_id: data.campaignId ?? null,
    contact_id: data.contactId ?? null,
    campaign_round: data.campaignRound ?? 0,
    to_number: data.to,
    from_number: data.from ?? null,
    priority: data.priority,
    status: 'scheduled',
    final: false,
    outcome: null,
    connect_mode: connectModeOf(data),
    reason: null,
    deferred_until: null,
    call_sid: null,
    timeline: [],
    duration_seconds: null,
    answered_by: null,
    sip_response_code: null,
    recording_url: null,
    error_code: null,
    error_message: null,
    message: data.message,
    metadata: data.metadata ?? null,
    scheduled_at: data.scheduleAt ?? null,
    dialed_at: null,
    placed_at: null,
    ended_at: null,
    version,
  };
}

/** A row for an attempt that has no call (yet): scheduled, dialing, or failed to dial. */
export function attemptRow(jobId: string, data: CallJobData, attempt: number, version: number, state: AttemptStatus): CallLogRow {
  const row = baseRow(jobId, data, attempt, version);
  row.status = state.status;
  if (state.status === 'scheduled') return row;
  if (state.status === 'cancelled') {
    row.final = true;
    return row;
  }
  if (state.status === 'deferred' || state.status === 'blocked') {
    row.reason = state.reason;
    row.deferred_until = state.status === 'deferred' ? state.until : null;
    row.final = state.status === 'blocked';
    return row;
  }
  row.dialed_at = state.dialedAt ?? null;
  if (state.status === 'dialing') return row;
  row.final = state.status === 'error';
  row.error_code = state.errorCode ?? null;
  row.error_message = state.errorMessage;
  return row;
}

/** A row for the attempt that placed the call, from what is known of the call. */
export function callRow(jobId: string, data: CallJobData, version: number, record: CallRecord, recordingsOf?: (callSid: string) => string): CallLogRow {
  const row = baseRow(jobId, data, record.placedAttempt ?? 1, version);
  return {
    ...row,
    status: record.callStatus ?? 'queued',
    final: record.final,
    outcome: callOutcome(record) ?? null,
    call_sid: record.callSid ?? null,
    timeline: record.timeline,
    duration_seconds: record.durationSeconds ?? null,
    answered_by: record.answeredBy ?? null,
    sip_response_code: record.sipResponseCode ?? null,
    recording_url: data.record && record.callSid && recordingsOf ? recordingsOf(record.callSid) : null,
    error_code: record.errorCode ?? null,
    error_message: record.errorMessage ?? null,
    dialed_at: record.dialedAt ?? null,
    placed_at: record.placedAt ?? null,
    ended_at: record.endedAt ?? null,
  };
}

/** What the scheduler, the worker and the call lifecycle tell the log. Every method is cheap: rows go to an outbox. */
export interface CallLog {
  /** Calls just scheduled; one out of its window is logged `deferred` until its opening. */
  scheduled(jobs: Array<{ jobId: string; data: CallJobData; deferred?: { reason: string; until: string } }>): Promise<void>;
  attempt(jobId: string, data: CallJobData, attempt: number, state: Exclude<AttemptStatus, { status: 'scheduled' }>): Promise<void>;
  /** The attempt that placed the call, as its record now stands. */
  call(jobId: string, data: CallJobData): Promise<void>;
  /** Campaign contacts just added, each with the row of the call it will be: listed, not yet calls (no events). */
  listed(jobs: Array<{ jobId: string; data: CallJobData }>): Promise<void>;
  /** Calls closed before a job was made for them (a campaign's contacts when it is cancelled or ends): their first row, after the scheduled one (no events). */
  closed(jobs: Array<{ jobId: string; data: CallJobData }>, state: { status: 'cancelled' } | { status: 'blocked'; reason: 'expired' }): Promise<void>;
}

export interface CallLogDeps {
  writer: CallLogWriter;
  /** Where the rows of calls (not of contacts merely listed or closed before they were calls) also go: events. */
  calls?: CallLogWriter;
  /** Versions and records come from the call records: one counter per job orders all its writes. */
  records: { nextLogVersion(jobId: string): Promise<number>; get(jobId: string): Promise<CallRecord | undefined> };
  /** Which calls are logged at all (all when absent): without Supabase, only those whose rows something else reads. */
  wants?: (data: CallJobData) => boolean;
  /** Where a recorded call's recordings are, by its SID (none with the simulated carrier). */
  recordingsOf?: (callSid: string) => string;
}

export function createCallLog({ writer, calls, records, wants = () => true, recordingsOf }: CallLogDeps): CallLog {
  const callWriter = calls ? everyWriter([writer, calls]) : writer;
  const firstRows = (jobs: Array<{ jobId: string; data: CallJobData; deferred?: { reason: string; until: string } }>) =>
    jobs.filter(({ data }) => wants(data)).map(({ jobId, data, deferred }) => attemptRow(jobId, data, 1, 0, deferred ? { status: 'deferred', ...deferred } : { status: 'scheduled' }));
  return {
    // Version 0: anything the worker writes later wins.
    scheduled: (jobs) => callWriter.write(firstRows(jobs)),
    listed: (jobs) => writer.write(firstRows(jobs)),
    async attempt(jobId, data, attempt, state) {
      if (!wants(data)) return;
      await callWriter.write([attemptRow(jobId, data, attempt, await records.nextLogVersion(jobId), state)]);
    },
    closed: (jobs, state) => writer.write(jobs.filter(({ data }) => wants(data)).map(({ jobId, data }) => attemptRow(jobId, data, 1, 1, state))),
    async call(jobId, data) {
      if (!wants(data)) return;
      // The version is taken after the change it reports, and the record read after that: the row
      // with the highest version always holds every change before it.
      const version = await records.nextLogVersion(jobId);
      const record = await records.get(jobId);
      if (record?.callSid) await callWriter.write([callRow(jobId, data, version, record, recordingsOf)]);
    },
  };
}

/** Rows to several writers: each gets every row. */
export const everyWriter = (writers: CallLogWriter[]): CallLogWriter => ({
  write: async (rows) => void (await Promise.all(writers.map((writer) => writer.write(rows)))),
});
