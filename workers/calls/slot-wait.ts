import { WaitingError, type Job } from 'bullmq';
import type { CapacityService } from '../../src/capacity/capacity-service.js';
import type { CallJobData } from '../../src/jobs/call-jobs.js';
import { backInLine, frontOfItsLevel } from './back-in-line.js';

/** What pausing needs of a BullMQ Worker. */
export interface Fetching {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): Promise<void>;
}

/** A missed event costs at most this long: the wait checks again on its own. */
const SAFETY_NET_MS = 2_000;

/**
 * Waiting for a slot: while none is free the worker stops fetching, and starts again the moment one
 * frees, told by the capacity's freed-slot events (the timer is only a safety net for a missed one).
 */
export async function startSlotWait(capacity: Pick<CapacityService, 'onSlotFreed'>) {
  let fetching: Fetching | undefined;
  let waiting = false;
  let safetyNet: NodeJS.Timeout | undefined;
  let refused: Job<CallJobData> | undefined;

  const slotFreed = async () => {
    if (!waiting) return;
    waiting = false;
    clearInterval(safetyNet);
    await fetching?.resume();
    // While pausing, the worker may have taken the wake-up marker the returned job left: re-adding
    // it leaves a fresh one, so the worker fetches now rather than after its long poll.
    const job = refused;
    refused = undefined;
    if (job) await job.changePriority({ priority: job.opts.priority ?? 2, lifo: false }).then(() => frontOfItsLevel(job)).catch(() => {});
  };
  const events = await capacity.onSlotFreed(() => void slotFreed());

  return {
    /** The worker that stops fetching while no slot is free. */
    pauses(worker: Fetching) {
      fetching = worker;
    },

    /** No slot now: puts the job back in line, keeping its place, and waits for one to free. */
    async wait(job: Job<CallJobData>, token: string | undefined): Promise<never> {
      if (!waiting) {
        waiting = true;
        void fetching?.pause(true);
        safetyNet = setInterval(() => void slotFreed(), SAFETY_NET_MS);
      }
      await backInLine(job, token);
      refused = job;
      throw new WaitingError();
    },

    async close() {
      clearInterval(safetyNet);
      await events.close();
    },
  };
}

export type SlotWait = Awaited<ReturnType<typeof startSlotWait>>;
