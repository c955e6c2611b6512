import { UnrecoverableError, type Job } from 'bullmq';
import type { CallRecordStore } from '../../src/adapters/call-record-store.js';
import { DialError, type Dialer } from '../../src/adapters/dialer.js';
import type { CallJobData, CallJobResult } from '../../src/jobs/call-jobs.js';
import { maskNumber } from '../../src/lib/mask-number.js';
import type { Logger } from '../../src/logger.js';

export interface CallProcessorDeps {
  dialer: Dialer;
  callRecords: CallRecordStore;
  defaultFrom: string;
  /** Set when PUBLIC_URL is: where Twilio reports the call's progress. */
  statusCallbackUrl?: string;
  logger: Logger;
}

/**
 * One dial attempt. The call SID is stored the moment the carrier returns it, and a job that
 * already has one is never dialed again. Errors that cannot pass fail the job at once.
 */
export async function processCall(job: Job<CallJobData>, deps: CallProcessorDeps): Promise<CallJobResult> {
  const jobId = job.id!;
  const attempt = job.attemptsMade + 1;
  const maxAttempts = job.opts.attempts ?? 1;
  const log = deps.logger.child({ jobId, attempt, to: maskNumber(job.data.to) });

  const existing = await deps.callRecords.get(jobId);
  if (existing?.callSid) {
    log.warn({ outcome: 'already-placed', callSid: existing.callSid }, 'call was already placed; not dialing again');
    return { callSid: existing.callSid, callStatus: existing.callStatus ?? 'queued' };
  }

  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  await deps.callRecords.save(jobId, { dialedAt: new Date().toISOString() });
  try {
    const placed = await deps.dialer.placeCall({
      to: job.data.to,
      from: job.data.from ?? deps.defaultFrom,
      message: job.data.message,
      ...(deps.statusCallbackUrl && { statusCallbackUrl: deps.statusCallbackUrl }),
    });
    await deps.callRecords.save(jobId, { callSid: placed.sid, callStatus: placed.status });
    await job.updateProgress(100);
    log.info({ outcome: 'placed', callSid: placed.sid, durationMs: elapsed() }, 'call placed');
    return { callSid: placed.sid, callStatus: placed.status };
  } catch (error) {
    const dialError = error instanceof DialError ? error : new DialError(String((error as Error)?.message ?? error), true);
    const willRetry = dialError.retryable && attempt < maxAttempts;
    log[willRetry ? 'warn' : 'error'](
      { outcome: willRetry ? 'retrying' : 'failed', code: dialError.code, error: dialError.message, durationMs: elapsed() },
      willRetry ? 'dial failed; will retry' : 'dial failed',
    );
    if (!dialError.retryable) throw new UnrecoverableError(dialError.message);
    throw dialError;
  }
}
