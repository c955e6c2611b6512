import type { Queue } from 'bullmq';
import type { Carrier } from '../carriers/carrier.js';
import { TWILIO_WEBHOOK_PATHS } from '../carriers/twilio/webhook-paths.js';
import { callJob, type CallJobData, type CallJobPolicy } from '../jobs/call-jobs.js';
import { jobIds } from '../jobs/job-ids.js';
import { maskNumber } from '../lib/mask-number.js';
import type { Logger } from '../logger.js';
import type { CapacityStore, Dispatch, SlotHolder } from './capacity-store.js';

export interface SlotDispatchDeps {
  store: CapacityStore;
  callQueue: Queue<CallJobData>;
  jobPolicy: CallJobPolicy;
  /** Redirects waiting callers out of the carrier's queue. */
  dialer?: Pick<Carrier, 'redirectQueueMember'>;
  /** Base URL of this API, for the TwiML a dequeued caller is sent to. */
  publicBaseUrl: string;
  logger: Logger;
}

/**
 * Taking and freeing slots. Either may hand free slots to waiting callers (the store's scripts do it
 * atomically); each such caller is then connected, or called back, before the operation returns.
 */
export function createSlotDispatch(deps: SlotDispatchDeps) {
  const { store, logger } = deps;

  const callBack = async (dispatch: Dispatch) => {
    const data: CallJobData = {
      to: dispatch.from,
      message: 'Hello, this is the call back you asked for. Connecting you now.',
      priority: 'high',
      connectToAgent: true,
      capacityHolder: dispatch.holder,
      callbackFor: dispatch.callSid,
    };
    // One job per callback, whatever happens to this process after it is added.
    const job = callJob(deps.jobPolicy, data, { jobId: jobIds.callback(dispatch.callSid) });
    await deps.callQueue.add(job.name, job.data, job.opts);
    logger.info({ callSid: dispatch.callSid, to: maskNumber(dispatch.from) }, 'calling back a caller whose turn came');
  };

  /** Connects each caller given a slot; one who left meanwhile is skipped and the slot passed on. */
  const dispatch = async (dispatches: Dispatch[]): Promise<void> => {
    for (const next of dispatches) {
      let connected = true;
      if (next.callback) {
        await callBack(next);
      } else if (next.queueSid && deps.dialer?.redirectQueueMember) {
        connected = await deps.dialer.redirectQueueMember(next.queueSid, next.callSid, `${deps.publicBaseUrl}${TWILIO_WEBHOOK_PATHS.connect}`);
      } else {
        // Still on its way into the carrier's queue: the wait URL connects it on its first request.
        continue;
      }
      await store.dispatched(next.callSid);
      if (connected) {
        logger.info({ callSid: next.callSid, priority: next.priority, callback: next.callback }, 'waiting caller given a slot');
      } else {
        logger.info({ callSid: next.callSid }, 'waiting caller had left; slot passed on');
        await release(next.holder);
      }
    }
  };

  /** Frees a slot (idempotent); true when it was held. */
  const release = async (holder: string): Promise<boolean> => {
    const { released, dispatches } = await store.release(holder);
    await dispatch(dispatches);
    return released;
  };

  return {
    /** Takes a slot if one is free and nobody waits for it (a holder that has one renews it). */
    async acquire(holder: string, info: Omit<SlotHolder, 'holder' | 'since' | 'expiresAt'>): Promise<boolean> {
      const { ok, dispatches } = await store.acquire(holder, info);
      await dispatch(dispatches);
      return ok;
    },
    release,
    dispatch,
  };
}

export type SlotDispatch = ReturnType<typeof createSlotDispatch>;
