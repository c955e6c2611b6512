import type { Queue } from 'bullmq';
import type { RedisConnection as Redis } from '../lib/redis.js';
import type { CallRecordStore } from '../calls/call-record-store.js';
import type { Carrier } from '../carriers/carrier.js';
import type { CallJobData, CallJobPolicy } from '../jobs/call-jobs.js';
import type { Logger } from '../logger.js';
import type { CapacityStore } from './capacity-store.js';
import { reconcileSlots } from './reconcile-slots.js';
import { createSlotDispatch } from './slot-dispatch.js';
import { holderInfo, holderOf, type SlotOwner } from './slot-holders.js';
import { estimateWaitSeconds } from './wait-estimate.js';

export type { SlotOwner } from './slot-holders.js';

export interface CapacityServiceDeps {
  store: CapacityStore;
  callQueue: Queue<CallJobData>;
  callRecords: CallRecordStore;
  jobPolicy: CallJobPolicy;
  /** Redirects waiting callers out of the carrier's queue; fetches calls for reconciliation. */
  dialer?: Carrier;
  /** Base URL of this API, for the TwiML a dequeued caller is sent to. */
  publicBaseUrl: string;
  /** A connection of its own for the freed-slot events (a subscribed connection does nothing else). */
  subscriber: () => Redis;
  logger: Logger;
}

/**
 * Live-call capacity as the rest of the service sees it: who may go live, and what happens when a
 * slot frees: the first waiting caller is connected (or called back), else outbound jobs may dial.
 * A slot belongs to an outbound job or an inbound call (a SlotOwner); how it is named is capacity's own.
 */
export function createCapacityService(deps: CapacityServiceDeps) {
  const { store, callRecords, callQueue } = deps;
  const slots = createSlotDispatch(deps);

  /** Frees the slot of a call that ended, and remembers how long it took. */
  const callEnded = async (owner: SlotOwner, durationSeconds: number | undefined): Promise<boolean> => {
    const released = await slots.release(holderOf(owner));
    // Counted once, however many reports of the end arrive.
    if (released && durationSeconds !== undefined) await store.recordHandleTime(durationSeconds);
    return released;
  };

  const estimateWait = async (position: number) => estimateWaitSeconds(position, await store.averageHandleTime(), store.maxSlots);

  const reconcile = () => reconcileSlots({ store, slots, callRecords, ...(deps.dialer && { dialer: deps.dialer }), logger: deps.logger });

  return {
    /** Takes a slot (or renews the one it holds); false when none is free or callers are waiting. */
    acquire: (owner: SlotOwner): Promise<boolean> => slots.acquire(holderOf(owner), holderInfo(owner)),

    /** Extends a live call's lease; false when it holds none (it ended or expired). */
    renew: (owner: SlotOwner): Promise<boolean> => store.renew(holderOf(owner)),

    /** Gives back a slot no call came of (a dial that failed or was put back). */
    release: (owner: SlotOwner): Promise<boolean> => slots.release(holderOf(owner)),

    /** Whether the owner holds a slot whose lease has not run out. */
    holds: (owner: SlotOwner): Promise<boolean> => store.holds(holderOf(owner)),

    callEnded,

    /**
     * The voice agent's end-of-call report, which names only the carrier's call: frees the slot of
     * the job that placed it, or of the inbound call.
     */
    async releaseForCallSid(callSid: string, durationSeconds: number | undefined): Promise<boolean> {
      const jobId = await callRecords.jobIdForSid(callSid);
      if (!jobId) return callEnded({ callSid }, durationSeconds);
      const job = await callQueue.getJob(jobId);
      return callEnded({ jobId, data: job?.data ?? {} }, durationSeconds);
    },

    /** Calls `listener` whenever any process frees a slot, until the returned subscription is closed. */
    async onSlotFreed(listener: () => void): Promise<{ close(): Promise<void> }> {
      const subscriber = deps.subscriber();
      await store.onFreed(subscriber, listener);
      return { close: () => subscriber.quit().then(() => undefined, () => subscriber.disconnect()) };
    },

    /** Seconds a caller at `position` in line can expect to wait. */
    estimateWait,

    async snapshot() {
      const [counts, averageHandleSeconds] = await Promise.all([store.counts(), store.averageHandleTime()]);
      return {
        ...counts,
        max: store.maxSlots,
        averageHandleSeconds: averageHandleSeconds ?? null,
        /** What a caller arriving now would be told. */
        estimatedWaitSeconds: counts.free > 0 && counts.waiting === 0 ? 0 : estimateWaitSeconds(counts.waiting + 1, averageHandleSeconds, store.maxSlots),
      };
    },

    /** The first callers in line: their place, priority, wait so far and what they are told to expect. */
    async line(limit = 50) {
      const [waiters, averageHandleSeconds] = await Promise.all([store.line(limit), store.averageHandleTime()]);
      return waiters.map((waiter, index) => ({
        callSid: waiter.callSid,
        from: waiter.from,
        priority: waiter.priority,
        position: index + 1,
        enqueuedAt: waiter.enqueuedAt,
        callback: waiter.callback,
        estimatedWaitSeconds: estimateWaitSeconds(index + 1, averageHandleSeconds, store.maxSlots),
      }));
    },

    /** Who holds each slot, and until when. */
    holders: () => store.holders(),

    /** The last 100 waiting callers given a slot, most recent first. */
    recentlyServed: () => store.recentlyServed(),

    reconcile,

    /** Reconciles unless another process did within `periodMs`: one repair per period, however many workers. */
    async reconcileInTurn(periodMs: number) {
      return (await store.claimReconcileTurn(periodMs)) ? reconcile() : undefined;
    },
  };
}

export type CapacityService = ReturnType<typeof createCapacityService>;
