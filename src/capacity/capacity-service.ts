import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CallRecordStore } from '../calls/call-record-store.js';
import { createCapacityStore, holderForJob, type CapacityStore, type Dispatch } from './capacity-store.js';
import type { Dialer } from '../carriers/carrier.js';
import type { Config } from '../config.js';
import { CALL_JOB, callJobOptions, callJobPolicy, type CallJobData, type CallJobPolicy } from '../jobs/call-jobs.js';
import { isFinalCallStatus } from '../carriers/call-status.js';
import { maskNumber } from '../lib/mask-number.js';
import type { Logger } from '../logger.js';
import { estimateWaitSeconds } from './wait-estimate.js';

export interface CapacityServiceDeps {
  store: CapacityStore;
  callQueue: Queue<CallJobData>;
  callRecords: CallRecordStore;
  jobPolicy: CallJobPolicy;
  /** Redirects waiting callers out of the carrier's queue; fetches calls for reconciliation. */
  dialer?: Dialer;
  /** Base URL of this API, for the TwiML a dequeued caller is sent to. */
  publicBaseUrl: string;
  logger: Logger;
}

/** The slot an outbound job holds: its own, or the waiting caller's it calls back. */
export const holderOf = (jobId: string, data: CallJobData) => data.capacityHolder ?? holderForJob(jobId);

/** Dispatches older than this were handed to a process that died before finishing them. */
const STALE_DISPATCH_MS = 10_000;
/** A slot taken for a dial that has no call yet is left alone this long by reconciliation. */
const DIAL_GRACE_MS = 30_000;

/**
 * Capacity as the rest of the service sees it: who may go live, and what happens when a slot
 * frees: the first waiting caller is connected (or called back), else outbound jobs may dial.
 */
export function createCapacityService(deps: CapacityServiceDeps) {
  const { store, logger } = deps;

  const callbackJob = async (dispatch: Dispatch) => {
    const data: CallJobData = {
      to: dispatch.from,
      message: 'Hello, this is the call back you asked for. Connecting you now.',
      priority: 'high',
      connectToAgent: true,
      capacityHolder: dispatch.holder,
      callbackFor: dispatch.callSid,
    };
    // One job per callback, whatever happens to this process after it is added.
    await deps.callQueue.add(CALL_JOB, data, { ...callJobOptions(deps.jobPolicy, 'high'), jobId: `callback-${dispatch.callSid}` });
    logger.info({ callSid: dispatch.callSid, to: maskNumber(dispatch.from) }, 'calling back a caller whose turn came');
  };

  /** Connects each caller given a slot; one who left meanwhile is skipped and the slot passed on. */
  const dispatch = async (dispatches: Dispatch[]): Promise<void> => {
    for (const next of dispatches) {
      let connected = true;
      if (next.callback) {
        await callbackJob(next);
      } else if (next.queueSid && deps.dialer?.redirectQueueMember) {
        connected = await deps.dialer.redirectQueueMember(next.queueSid, next.callSid, `${deps.publicBaseUrl}/webhooks/twilio/connect`);
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

  /** Whether a slot's call still lives: from our record when it ended, else from the carrier. */
  const callState = async (record: { final: boolean } | undefined, callSid: string | undefined): Promise<'ended' | 'live' | 'unknown'> => {
    if (record?.final) return 'ended';
    if (callSid && deps.dialer?.fetchCall) {
      return deps.dialer.fetchCall(callSid).then(
        (call) => (isFinalCallStatus(call.status) ? 'ended' : 'live'),
        (error: { httpStatus?: number }) => (error.httpStatus === 404 ? 'ended' : 'unknown'),
      );
    }
    // No carrier to ask (the simulated one): a placed call our record has not seen end is live.
    return record && callSid ? 'live' : 'unknown';
  };

  const release = async (holder: string) => {
    const { released, dispatches } = await store.release(holder);
    await dispatch(dispatches);
    return released;
  };

  return {
    store,
    dispatch,
    release,

    /** Takes a slot for an outbound dial; false when none is free or callers are waiting. */
    async acquireForJob(jobId: string, data: CallJobData): Promise<boolean> {
      const { ok, dispatches } = await store.acquire(holderOf(jobId, data), { kind: data.callbackFor ? 'callback' : 'outbound', jobId });
      await dispatch(dispatches);
      return ok;
    },

    /** Frees the slot of a call that ended, and remembers how long it took. */
    async callEnded(holder: string, durationSeconds: number | undefined) {
      const released = await release(holder);
      // Counted once, however many reports of the end arrive.
      if (released && durationSeconds !== undefined) await store.recordHandleTime(durationSeconds);
      return released;
    },

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

    /**
     * Repairs drift: frees slots whose call has ended (a lost callback), renews those still live,
     * finishes dispatches a crashed process left half done, and hands expired slots to waiters.
     */
    async reconcile() {
      const released: string[] = [];
      let renewed = 0;
      for (const holder of await store.holders()) {
        const age = Date.now() - Date.parse(holder.since);
        const record = holder.jobId ? await deps.callRecords.get(holder.jobId) : undefined;
        const callSid = record?.callSid ?? holder.callSid;
        const state = await callState(record, callSid);
        if (state === 'ended' || (holder.jobId && !callSid && !record?.dialedAt && age > DIAL_GRACE_MS)) {
          await release(holder.holder);
          released.push(holder.holder);
        } else if (state === 'live' && (await store.renew(holder.holder))) {
          renewed++;
        }
        // Unknown: the lease decides.
      }
      const stale = await store.staleDispatches(STALE_DISPATCH_MS);
      await dispatch(stale);
      await release('');
      if (released.length > 0) logger.warn({ released }, 'reconciliation freed slots whose calls had ended');
      return { released, renewed, redispatched: stale.length };
    },
  };
}

export type CapacityService = ReturnType<typeof createCapacityService>;

/** The capacity service of a process, from configuration. */
export function capacityFor(
  config: Readonly<Config>,
  redis: Redis,
  parts: Pick<CapacityServiceDeps, 'callQueue' | 'callRecords' | 'dialer' | 'logger'>,
): CapacityService {
  const store = createCapacityStore(redis, { prefix: config.QUEUE_PREFIX, maxSlots: config.MAX_CONCURRENT_CALLS, leaseMs: config.CAPACITY_LEASE_SECONDS * 1000 });
  return createCapacityService({
    ...parts,
    store,
    jobPolicy: callJobPolicy(config),
    publicBaseUrl: config.apiBaseUrl,
  });
}
