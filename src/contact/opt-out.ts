import type { Queue } from 'bullmq';
import { hangupTwiml, sayThenHangupTwiml } from '../carriers/twilio/twiml.js';
import type { CallJobData } from '../jobs/call-jobs.js';
import type { Logger } from '../logger.js';
import { maskNumber } from '../lib/mask-number.js';
import type { DncList } from './dnc-list.js';

export interface OptOutDeps {
  callQueue: Queue<CallJobData>;
  dnc: Pick<DncList, 'put'>;
  /** The key that opts out, and what the person then hears. */
  digit: string | undefined;
  confirmation: string;
  logger: Logger;
}

/**
 * A key pressed during a `say` call's opt-out offer: the opt-out key puts the number called on the
 * do-not-call list (source `keypress`), and the person hears that they will not be called again.
 */
export function createOptOut(deps: OptOutDeps) {
  return {
    async keypress({ jobId, digits }: { jobId: string; digits: string }): Promise<string> {
      if (!deps.digit || digits !== deps.digit) return hangupTwiml();
      const job = await deps.callQueue.getJob(jobId);
      if (!job) {
        deps.logger.warn({ jobId }, 'opt-out key pressed on a call of no known job');
        return sayThenHangupTwiml(deps.confirmation);
      }
      await deps.dnc.put(job.data.to, { source: 'keypress', reason: `pressed ${digits} during call ${jobId}` });
      deps.logger.info({ jobId, to: maskNumber(job.data.to) }, 'number opted out by keypress: on the do-not-call list');
      return sayThenHangupTwiml(deps.confirmation);
    },
  };
}

export type OptOut = ReturnType<typeof createOptOut>;
