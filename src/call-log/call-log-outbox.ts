import { Queue } from 'bullmq';
import type { RedisConnection as Redis } from '../lib/redis.js';
import type { Config } from '../config.js';
import { CALL_LOG_JOB, CALL_LOG_JOB_OPTIONS, CALL_LOG_QUEUE_NAME, type CallJobData } from '../jobs/call-jobs.js';
import { createCallLog, everyWriter, type CallLog, type CallLogRow, type CallLogWriter } from './call-log-writer.js';
import type { CallRecordStore } from '../calls/call-record-store.js';

/** Rows per outbox job: one upsert request each. */
const CHUNK = 500;

export interface OutboxJob {
  rows: CallLogRow[];
}

/** Writes rows to the outbox queue, in the same Redis as the calls, in chunks the outbox worker retries until Supabase takes them. */
export function createOutboxWriter(outbox: Queue<OutboxJob>): CallLogWriter {
  const options = CALL_LOG_JOB_OPTIONS;
  return {
    async write(rows) {
      if (rows.length === 0) return;
      if (rows.length <= CHUNK) {
        await outbox.add(CALL_LOG_JOB, { rows }, options);
        return;
      }
      const chunks: Array<{ name: typeof CALL_LOG_JOB; data: OutboxJob; opts: typeof options }> = [];
      for (let start = 0; start < rows.length; start += CHUNK) {
        chunks.push({ name: CALL_LOG_JOB, data: { rows: rows.slice(start, start + CHUNK) }, opts: options });
      }
      await outbox.addBulk(chunks);
    },
  };
}

/** From one second (or less, when the cap is lower), doubling, to at most `maxMs` between tries. */
export const outboxBackoff = (attemptsMade: number, maxMs: number) => Math.min(Math.min(1_000, maxMs) * 2 ** Math.max(0, attemptsMade - 1), maxMs);

/**
 * The call log a process writes to: through the outbox when Supabase is configured, to `alongside`
 * (campaign progress, which reads only campaign calls' rows) in any case, and calls' rows to `calls`.
 */
export function openCallLog(
  config: Readonly<Config>,
  connection: Redis,
  callRecords: CallRecordStore,
  alongside: { writer: CallLogWriter; wants: (data: CallJobData) => boolean },
  /** Where calls' rows also go (events), not those of contacts merely listed or closed. */
  calls?: CallLogWriter,
): { callLog: CallLog; close(): Promise<void> } {
  const recordingsOf =
    config.carrier === 'twilio' ? (callSid: string) => `${config.TWILIO_API_BASE_URL}/2010-04-01/Accounts/${config.TWILIO_ACCOUNT_SID}/Calls/${callSid}/Recordings.json` : undefined;
  const extras = { ...(recordingsOf && { recordingsOf }), ...(calls && { calls }) };
  if (!config.SUPABASE_URL) {
    return { callLog: createCallLog({ writer: alongside.writer, records: callRecords, wants: alongside.wants, ...extras }), close: async () => {} };
  }
  const outbox = new Queue<OutboxJob>(CALL_LOG_QUEUE_NAME, { connection, prefix: config.QUEUE_PREFIX });
  return {
    callLog: createCallLog({ writer: everyWriter([createOutboxWriter(outbox), alongside.writer]), records: callRecords, ...extras }),
    close: () => outbox.close(),
  };
}
