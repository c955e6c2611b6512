import type { CallLogRow, CallLogWriter } from '../../src/call-log/call-log-writer.js';
import type { CallEvent } from '../../src/carriers/call-status.js';
import { DialError, type Carrier, type FoundCall, type PlaceCallRequest, type PlacedCall } from '../../src/carriers/carrier.js';
import { createLogger } from '../../src/logger.js';

export const silentLogger = createLogger('silent');

/** Failures as the Twilio dialer classifies them, with Twilio's codes and wording. */
export const carrierErrors = {
  /** Refused before any call was made, and may pass later (429 Too Many Requests). */
  retryable: () => new DialError('Twilio 20429: Too Many Requests', { retryable: true, code: 20429, httpStatus: 429, retryAfterMs: 1_000 }),
  /** The request may have reached Twilio and created a call (a 5xx, a timeout). */
  ambiguous: () => new DialError('Twilio 20500: An internal server error has occurred', { retryable: true, ambiguous: true, code: 20500, httpStatus: 500 }),
  /** Will never pass (an invalid number). */
  permanent: () => new DialError("Twilio 21211: The 'To' number is not a valid phone number.", { retryable: false, code: 21211, httpStatus: 400 }),
  notFound: () => new DialError('Twilio 20404: The requested resource was not found', { retryable: false, code: 20404, httpStatus: 404 }),
};

interface CarrierCall extends FoundCall {
  to: string;
  from: string;
  /** False while the carrier's call list does not show it yet. */
  listed: boolean;
}

export interface FailureOptions {
  /** The failed request created a call anyway, which the carrier's list does not show until `listCalls`. */
  createsCall?: boolean;
}

/**
 * A carrier in memory: it records every request, keeps the calls it "placed", and fails the next
 * dials it is told to. Calls start `queued`; `setStatus` moves them on.
 */
export function createFakeCarrier() {
  const calls = new Map<string, CarrierCall>();
  const failures: Array<{ error: DialError; options: FailureOptions }> = [];
  let created = 0;

  const create = (request: PlaceCallRequest, listed: boolean): CarrierCall => {
    const sid = `CA${String(++created).padStart(32, '0')}`;
    const call = { sid, status: 'queued', createdAt: new Date(), to: request.to, from: request.from, listed };
    calls.set(sid, call);
    return call;
  };

  const carrier = {
    name: 'twilio' as const,
    /** Every dial request, in order. */
    dials: [] as PlaceCallRequest[],
    /** Every look-up for an earlier call, in order. */
    lookups: [] as Array<{ to: string; from: string; since: Date }>,
    redirects: [] as Array<{ queueSid: string; callSid: string; url: string }>,
    /** Callers who hung up while waiting: redirecting them finds no one. */
    gone: new Set<string>(),

    async placeCall(request: PlaceCallRequest): Promise<PlacedCall> {
      carrier.dials.push(request);
      const failure = failures.shift();
      if (failure) {
        if (failure.options.createsCall) create(request, false);
        throw failure.error;
      }
      const { sid, status } = create(request, true);
      return { sid, status };
    },

    async findCalls(query: { to: string; from: string; since: Date }): Promise<FoundCall[]> {
      carrier.lookups.push(query);
      return [...calls.values()]
        .filter((call) => call.listed && call.to === query.to && call.from === query.from && call.createdAt >= query.since)
        .map(({ sid, status, createdAt }) => ({ sid, status, createdAt }));
    },

    async fetchCall(sid: string): Promise<CallEvent> {
      const call = calls.get(sid);
      if (!call) throw carrierErrors.notFound();
      return { callSid: sid, status: call.status, at: new Date().toISOString() };
    },

    async redirectQueueMember(queueSid: string, callSid: string, url: string): Promise<boolean> {
      carrier.redirects.push({ queueSid, callSid, url });
      return !carrier.gone.has(callSid);
    },

    /** The next dial fails with `error` (dials after it succeed unless told otherwise). */
    failNextDial(error: DialError, options: FailureOptions = {}) {
      failures.push({ error, options });
    },

    /** The carrier's call list catches up: calls created by failed requests show. */
    listCalls() {
      for (const call of calls.values()) call.listed = true;
    },

    /** A call the carrier has, as if placed by someone else or answered inbound. */
    addCall(call: { sid: string; to: string; from: string; status?: string }) {
      calls.set(call.sid, { status: 'in-progress', createdAt: new Date(), listed: true, ...call });
    },

    setStatus(sid: string, status: string) {
      const call = calls.get(sid);
      if (!call) throw new Error(`the fake carrier has no call ${sid}`);
      call.status = status;
    },

    callsTo: (to: string) => [...calls.values()].filter((call) => call.to === to),
  } satisfies Carrier & Record<string, unknown>;
  return carrier;
}

export type FakeCarrier = ReturnType<typeof createFakeCarrier>;

/** Call log rows kept in memory, in the order they were written. */
export function createMemoryCallLogWriter() {
  const rows: CallLogRow[] = [];
  const writer: CallLogWriter & { rows: CallLogRow[] } = {
    rows,
    async write(written) {
      rows.push(...written);
    },
  };
  return writer;
}
