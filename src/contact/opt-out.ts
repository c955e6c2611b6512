import type { Queue } from 'bullmq';
import { hangupTwiml, sayThenHangupTwiml } from '../carriers/twilio/twiml.js';
import type { CallJobData } from '../jobs/call-jobs.js';
import type { Logger } from '../logger.js';
import { maskNumber } from '../lib/mask-number.js';
import { toE164 } from '../lib/phone-number.js';
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
    /** `to`: the number called, as the carrier's signed request names it, for a call whose job is gone. */
    async keypress({ jobId, digits, to }: { jobId: string; digits: string; to: string | undefined }): Promise<string> {
      if (!deps.digit || digits !== deps.digit) return hangupTwiml();
      const job = await deps.callQueue.getJob(jobId);
      const number = job?.data.to ?? (to ? toE164(to) : undefined);
      if (!number) {
        // Nobody is told they will not be called again unless they are on the list.
        deps.logger.error({ jobId }, 'opt-out key pressed, but neither the job nor the request names the number');
        return hangupTwiml();
      }
      await deps.dnc.put(number, { source: 'keypress', reason: `pressed ${digits} during call ${jobId}` });
      deps.logger.info({ jobId, to: maskNumber(number) }, 'number opted out by keypress: on the do-not-call list');
      return sayThenHangupTwiml(deps.confirmation);
    },
  };
}

export type OptOut = ReturnType<typeof createOptOut>;
