import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFinalCallStatus } from '../call-status.js';
import type { Logger } from '../../logger.js';
import { signLikeTwilio } from '../twilio/twilio-signature.js';
import { DialError, type Carrier, type PlaceCallRequest } from '../carrier.js';
import { SIMULATOR_PHONE_CALLS_PATH, simulatorQueueMemberPath } from '../twilio/webhook-paths.js';

/**
 * How a simulated call ends, chosen by the last four digits of the number called, so every
 * outcome can be tried with `npm start` and no account. Anything else: a person answers.
 */
export const SIMULATED_OUTCOMES = {
  '9001': 'busy',
  '9002': 'no-answer',
  '9003': 'failed',
  '9004': 'invalid-number',
  '9005': 'voicemail',
  '9006': 'carrier-outage-once',
} as const;
type Scenario = (typeof SIMULATED_OUTCOMES)[keyof typeof SIMULATED_OUTCOMES] | 'answered';

export const SIMULATED_ACCOUNT_SID = `AC${'5'.repeat(32)}`;

export interface SimulatedCarrierOptions {
  /** How long the carrier takes to accept a call. */
  latencyMs: number;
  /** 1 plays calls in real time; 0.1 ten times faster. Reported durations stay real. */
  timeScale: number;
  /** Signs callbacks as Twilio would with the account's auth token. */
  authToken: string;
  /** The API hosting the simulated network's queue (its inbound callers wait there). */
  apiBaseUrl?: string;
  logger: Logger;
}

interface PlannedEvent {
  afterMs: number;
  params: Record<string, string>;
}

const scenarioFor = (to: string): Scenario =>
  SIMULATED_OUTCOMES[to.slice(-4) as keyof typeof SIMULATED_OUTCOMES] ?? 'answered';

/** About 150 words a minute, and never less than two seconds. */
const speechMs = (message: string) => Math.max(2_000, message.split(/\s+/).length * 400);

/** The progress a call goes through, in virtual milliseconds since it was placed. */
function plan(request: PlaceCallRequest, scenario: Scenario): PlannedEvent[] {
  const ringing: PlannedEvent[] = [
    { afterMs: 100, params: { CallStatus: 'initiated' } },
    { afterMs: 600, params: { CallStatus: 'ringing' } },
  ];
  const ended = (afterMs: number, params: Record<string, string>) => ({ afterMs, params: { CallDuration: '0', ...params } });
  switch (scenario) {
    case 'busy':
      return [...ringing, ended(2_000, { CallStatus: 'busy', SipResponseCode: '486' })];
    case 'no-answer':
      return [...ringing, ended(600 + (request.timeoutSeconds ?? 30) * 1000, { CallStatus: 'no-answer', SipResponseCode: '487' })];
    case 'failed':
      return [...ringing, ended(1_500, { CallStatus: 'failed', SipResponseCode: '503' })];
    default: {
      const machine = scenario === 'voicemail';
      const answeredBy: Record<string, string> = request.machineDetection ? { AnsweredBy: machine ? 'machine_start' : 'human' } : {};
      const talkMs = speechMs(request.message) + (machine && request.machineDetection === 'DetectMessageEnd' ? 4_000 : 1_000);
      return [
        ...ringing,
        { afterMs: 3_000, params: { CallStatus: 'in-progress', ...answeredBy } },
        { afterMs: 3_000 + talkMs, params: { CallStatus: 'completed', CallDuration: String(Math.ceil(talkMs / 1000)), SipResponseCode: '200', ...answeredBy } },
      ];
    }
  }
}

/**
 * A stand-in telephone network: places no real call, but accepts, rejects and plays calls out
 * with deterministic outcomes, and reports their progress as signed Twilio status callbacks through
 * the service's real webhook.
 */
export function createSimulatedCarrier(options: SimulatedCarrierOptions): Carrier {
  const pending = new Set<{ timer: NodeJS.Timeout; send: () => Promise<void> }>();
  const sending = new Set<Promise<void>>();
  const outagesSeen = new Set<string>();

  let closing = false;
  const post = async (url: string, params: Record<string, string>) => {
    const signature = signLikeTwilio(options.authToken, url, params);
    // While shutting down, one try each: a shutdown must not wait for an API that is gone.
    for (let attempt = 0; attempt < (closing ? 1 : 6); attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
          body: new URLSearchParams(params),
        });
        if (response.status < 500) return;
      } catch {
        // The API may be restarting: try again shortly, as Twilio does.
      }
      await sleep(200 * 2 ** attempt);
    }
    options.logger.warn({ callSid: params.CallSid, callStatus: params.CallStatus }, 'simulated carrier could not deliver a status callback');
  };

  const schedule = (url: string, afterMs: number, params: Record<string, string>) => {
    const entry = {
      send: async () => {
        pending.delete(entry);
        const delivery = post(url, { ...params, Timestamp: new Date().toUTCString() });
        sending.add(delivery);
        await delivery.finally(() => sending.delete(delivery));
      },
      timer: setTimeout(() => void entry.send(), afterMs * options.timeScale),
    };
    pending.add(entry);
  };

  /**
   * A callback rings a caller who dialed in through the simulated network: their phone hears the
   * message when it answers and hangs up when the call ends, so the simulator shows them served.
   */
  const ringSimulatedPhone = (apiBaseUrl: string, sid: string, request: PlaceCallRequest, events: PlannedEvent[]) => {
    const phoneUrl = `${apiBaseUrl.replace(/\/+$/, '')}${SIMULATOR_PHONE_CALLS_PATH}`;
    for (const event of events) {
      const status = event.params.CallStatus!;
      if (status !== 'in-progress' && !isFinalCallStatus(status)) continue;
      schedule(phoneUrl, event.afterMs, { CallSid: sid, From: request.from, To: request.to, CallStatus: status, ...(status === 'in-progress' && { Message: request.message }) });
    }
  };

  return {
    name: 'simulated',
    async placeCall(request) {
      if (options.latencyMs > 0) await sleep(options.latencyMs);
      const scenario = scenarioFor(request.to);
      if (scenario === 'invalid-number') {
        throw new DialError(`Twilio 21211: The 'To' number ${request.to} is not a valid phone number.`, { retryable: false, code: 21211, httpStatus: 400 });
      }
      if (scenario === 'carrier-outage-once' && !outagesSeen.has(request.to)) {
        outagesSeen.add(request.to);
        throw new DialError('Twilio 20500: An internal server error has occurred', { retryable: true, code: 20500, httpStatus: 500 });
      }
      const sid = `CA${randomBytes(16).toString('hex')}`;
      const events = plan(request, scenario);
      if (request.statusCallbackUrl) {
        const common = {
          AccountSid: SIMULATED_ACCOUNT_SID,
          ApiVersion: '2010-04-01',
          CallSid: sid,
          CallbackSource: 'call-progress-events',
          Direction: 'outbound-api',
          From: request.from,
          To: request.to,
          Called: request.to,
          Caller: request.from,
        };
        events.forEach((event, index) =>
          schedule(request.statusCallbackUrl!, event.afterMs, { ...common, ...event.params, SequenceNumber: String(index) }),
        );
      }
      if (request.connectTo && options.apiBaseUrl) ringSimulatedPhone(options.apiBaseUrl, sid, request, events);
      return { sid, status: 'queued' };
    },
    async redirectQueueMember(queueSid, callSid, url) {
      if (!options.apiBaseUrl) return false;
      const target = `${options.apiBaseUrl.replace(/\/+$/, '')}${simulatorQueueMemberPath(queueSid, callSid)}`;
      const params = { Url: url, Method: 'POST' };
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio(options.authToken, target, params) },
        body: new URLSearchParams(params),
      });
      if (response.status === 404) return false;
      if (!response.ok) throw new DialError(`simulated queue answered ${response.status}`, { retryable: true, httpStatus: response.status });
      return true;
    },
    /** Plays every call in flight to its end at once, so no call is left unfinished by a shutdown. */
    async close() {
      closing = true;
      const entries = [...pending];
      for (const entry of entries) clearTimeout(entry.timer);
      for (const entry of entries) await entry.send();
      await Promise.all([...sending]);
    },
  };
}
