import type { CallRecordStore } from '../calls/call-record-store.js';
import { isFinalCallStatus } from '../carriers/call-status.js';
import type { Carrier } from '../carriers/carrier.js';
import type { Logger } from '../logger.js';
import type { CapacityStore } from './capacity-store.js';
import type { SlotDispatch } from './slot-dispatch.js';

/** Dispatches older than this were handed to a process that died before finishing them. */
const STALE_DISPATCH_MS = 10_000;
/** A slot taken for a dial that has no call yet is left alone this long by reconciliation. */
const DIAL_GRACE_MS = 30_000;

export interface ReconcileDeps {
  store: CapacityStore;
  slots: SlotDispatch;
  callRecords: Pick<CallRecordStore, 'get'>;
  /** Asked whether a call still lives when our record has not seen it end. */
  dialer?: Pick<Carrier, 'fetchCall'>;
  logger: Logger;
}

/**
 * Repairs drift: frees slots whose call has ended (a lost callback), renews those still live,
 * finishes dispatches a crashed process left half done, and hands expired slots to waiters.
 */
export async function reconcileSlots({ store, slots, callRecords, dialer, logger }: ReconcileDeps) {
  /** Whether a slot's call still lives: from our record when it ended, else from the carrier. */
  const callState = async (record: { final: boolean } | undefined, callSid: string | undefined): Promise<'ended' | 'live' | 'unknown'> => {
    if (record?.final) return 'ended';
    if (callSid && dialer?.fetchCall) {
      return dialer.fetchCall(callSid).then(
        (call) => (isFinalCallStatus(call.status) ? 'ended' : 'live'),
        (error: { httpStatus?: number }) => (error.httpStatus === 404 ? 'ended' : 'unknown'),
      );
    }
    // No carrier to ask (the simulated one): a placed call our record has not seen end is live.
    return record && callSid ? 'live' : 'unknown';
  };

  const released: string[] = [];
  let renewed = 0;
  for (const holder of await store.holders()) {
    const age = Date.now() - Date.parse(holder.since);
    const record = holder.jobId ? await callRecords.get(holder.jobId) : undefined;
    const callSid = record?.callSid ?? holder.callSid;
    const state = await callState(record, callSid);
    if (state === 'ended' || (holder.jobId && !callSid && !record?.dialedAt && age > DIAL_GRACE_MS)) {
      await slots.release(holder.holder);
      released.push(holder.holder);
    } else if (state === 'live' && (await store.renew(holder.holder))) {
      renewed++;
    }
    // Unknown: the lease decides.
  }
  const stale = await store.staleDispatches(STALE_DISPATCH_MS);
  await slots.dispatch(stale);
  // Releasing no one still drops expired leases and hands their slots to waiters.
  await slots.release('');
  if (released.length > 0) logger.warn({ released }, 'reconciliation freed slots whose calls had ended');
  return { released, renewed, redispatched: stale.length };
}
