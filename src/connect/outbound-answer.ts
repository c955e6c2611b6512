import type { Queue } from 'bullmq';
import type { CallLog } from '../call-log/call-log-writer.js';
import type { CallRecordStore } from '../calls/call-record-store.js';
import type { CapacityService } from '../capacity/capacity-service.js';
import type { Carrier } from '../carriers/carrier.js';
import { answererOf } from '../carriers/call-status.js';
import { emptyTwiml, hangupTwiml } from '../carriers/twilio/twiml.js';
import { connectModeOf, type CallJobData } from '../jobs/call-jobs.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { answerActionFor, answerTwiml, detectsBeside, detectsMachines } from './connect-plan.js';
import type { ConnectSettings } from './connect-settings.js';

export interface OutboundAnswerDeps {
  callQueue: Queue<CallJobData>;
  callRecords: Pick<CallRecordStore, 'get' | 'recordAnswer'>;
  capacity: Pick<CapacityService, 'release'>;
  /** Hangs up or redirects a call whose verdict came after it was connected (AsyncAmd). */
  dialer: Pick<Carrier, 'endCall' | 'redirectCall'>;
  callLog: CallLog;
  settings: ConnectSettings;
  metrics?: Pick<Metrics, 'answers'>;
  logger: Logger;
}

/**
 * Where the carrier says who answered an outbound call that detects machines: the call's policy
 * chooses to connect, leave a voicemail or hang up. Asked before the call does anything, the
 * answer is TwiML; told after it was connected (AsyncAmd), the call is redirected or hung up. A
 * call that will not reach the agent gives its slot back the moment that is known.
 */
export function createOutboundAnswer(deps: OutboundAnswerDeps) {
  const { settings, logger } = deps;

  return {
    async answer({ jobId, callSid, answeredBy }: { jobId: string; callSid: string; answeredBy: string | undefined }): Promise<string> {
      const job = await deps.callQueue.getJob(jobId);
      if (!job) {
        logger.warn({ jobId, callSid }, 'answered call of no known job: hanging up');
        return hangupTwiml();
      }
      const record = await deps.callRecords.get(jobId);
      if (record?.callSid && callSid && record.callSid !== callSid) {
        logger.warn({ jobId, callSid, jobCallSid: record.callSid }, 'answer of a call the job did not place: hanging up');
        return hangupTwiml();
      }
      const policy = job.data.answeringMachine;
      const answerer = answererOf(answeredBy);
      const action = await deps.callRecords.recordAnswer(jobId, { answeredBy: answeredBy ?? 'unknown', action: answerActionFor(policy, answerer) });
      const beside = detectsMachines(policy) && detectsBeside(job.data, policy);
      const reachesAgent = action === 'connect' && connectModeOf(job.data) !== 'say';
      logger.info({ jobId, callSid, answeredBy, action }, 'call answered');
      deps.metrics?.answers.inc({ answerer, action });

      let twiml = hangupTwiml();
      try {
        if (beside) {
          // Already connected: only a change of course needs the carrier.
          if (action === 'hangup') await deps.dialer.endCall?.(callSid);
          if (action === 'voicemail') await deps.dialer.redirectCall?.(callSid, answerTwiml(action, jobId, job.data, settings));
          twiml = emptyTwiml();
        } else {
          twiml = answerTwiml(action, jobId, job.data, settings);
        }
      } catch (error) {
        // The agent is no longer configured, or the call ended before it could be changed: nobody is left waiting.
        logger.error({ jobId, callSid, action, err: error }, 'could not act on who answered the call; hanging up');
      } finally {
        if (!reachesAgent) await deps.capacity.release({ jobId, data: job.data });
      }
      await deps.callLog.call(jobId, job.data);
      return twiml;
    },
  };
}

export type OutboundAnswer = ReturnType<typeof createOutboundAnswer>;
