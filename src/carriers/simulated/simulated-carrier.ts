import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logger.js';
import type { RedisConnection } from '../../lib/redis.js';
import { signLikeTwilio } from '../twilio/twilio-signature.js';
import { DialError, type Carrier, type PlaceCallRequest } from '../carrier.js';
import { SIMULATED_AGENT_DIAL_TARGET, SIMULATOR_PHONE_CALLS_PATH, simulatorQueueMemberPath } from '../twilio/webhook-paths.js';
import { abortWhen } from './abort-when.js';
import { streamMedia } from './media-stream-client.js';
import { detectionFor, pressesToOptOut, scenarioFor, speechMs, TALK_MS, type Scenario } from './simulated-callee.js';
import { nounsOf, verbsOf } from './twiml-verbs.js';

export { SIMULATED_OUTCOMES } from './simulated-callee.js';

export const SIMULATED_ACCOUNT_SID = `AC${'5'.repeat(32)}`;

export interface SimulatedCarrierOptions {
  /** How long the carrier takes to accept a call. */
  latencyMs: number;
  /** 1 plays calls in real time; 0.1 ten times faster. Reported durations stay real. */
  timeScale: number;
  /** Signs callbacks, webhook requests and Media Streams handshakes as Twilio would with the account's auth token. */
  authToken: string;
  /** The API hosting the simulated network's queue (its inbound callers wait there). */
  apiBaseUrl?: string;
  /** The built-in simulated agent's Media Streams URL: where calls bridged to it are streamed. */
  simulatedAgentStreamUrl?: string;
  /** The key a person who wants no more calls presses when a call offers it (OPT_OUT_DIGIT). */
  optOutDigit?: string;
  /**
   * Carries hang-ups and redirects to the process playing the call, when the API and the workers
   * run apart: a Redis channel, and how to open a connection to it.
   */
  control?: { channel: string; connect(): RedisConnection };
  logger: Logger;
}

/** A change to a call in progress, sent to whichever process plays it. */
interface ControlMessage {
  callSid: string;
  twiml?: string;
}

/** What may happen to a call in progress from outside: redirected to new TwiML, or hung up. */
type Interruption = { twiml: string } | { hangup: true };

interface LiveCall {
  interrupt(next: Interruption): void;
}

/**
 * Calls in progress in this process, whichever carrier instance placed them: with `npm start` the
 * API hangs up and redirects calls that its worker placed, as Twilio's call update would.
 */
const liveCalls = new Map<string, LiveCall>();

/** How a TwiML document ended: played out, the call hung up, or redirected to other TwiML. */
type DocumentEnd = { done: true } | { hangup: true } | { twiml: string };

/**
 * A stand-in telephone network: places no real call, but accepts, rejects and plays calls out with
 * deterministic outcomes. It reads the TwiML of each call as Twilio does (say, dial, stream, hang
 * up), asks the service's answer webhook once it knows who answered, opens Media Streams to the
 * agent's WebSocket, and reports progress as signed Twilio status callbacks.
 */
export function createSimulatedCarrier(options: SimulatedCarrierOptions): Carrier {
  const closing = new AbortController();
  // Every call in play waits on it (a listener each, removed when its wait ends): no limit to warn at.
  setMaxListeners(0, closing.signal);
  const plays = new Set<Promise<void>>();
  const sending = new Set<Promise<unknown>>();
  const outagesSeen = new Set<string>();
  const connections: RedisConnection[] = [];
  const connect = () => {
    const connection = options.control!.connect();
    connections.push(connection);
    return connection;
  };

  /** Listens for changes to the calls this carrier plays, once it plays one. */
  let listening: Promise<void> | undefined;
  const listen = () =>
    (listening ??= (async () => {
      const subscriber = connect();
      subscriber.on('message', (channel: string, text: string) => {
        if (channel !== options.control!.channel) return;
        let message: ControlMessage;
        try {
          message = JSON.parse(text) as ControlMessage;
        } catch {
          return;
        }
        liveCalls.get(message.callSid)?.interrupt(message.twiml === undefined ? { hangup: true } : { twiml: message.twiml });
      });
      await subscriber.subscribe(options.control!.channel);
    })().catch((error: unknown) => {
      // Listen again on the next call rather than never.
      listening = undefined;
      throw error;
    }));
  let publisher: RedisConnection | undefined;
  /** Changes a call in progress, here or in the process that plays it; false when no process could be told. */
  const change = async (message: ControlMessage): Promise<boolean> => {
    const local = liveCalls.get(message.callSid);
    if (local) {
      local.interrupt(message.twiml === undefined ? { hangup: true } : { twiml: message.twiml });
      return true;
    }
    if (!options.control) return false;
    publisher ??= connect();
    return (await publisher.publish(options.control.channel, JSON.stringify(message))) > 0;
  };

  /** Waits `virtualMs` of call time, or less when the carrier closes or `signal` aborts. */
  const wait = async (virtualMs: number, signal?: AbortSignal) => {
    const early = abortWhen([closing.signal, ...(signal ? [signal] : [])], virtualMs * options.timeScale);
    if (!early.signal.aborted) await new Promise((resolve) => early.signal.addEventListener('abort', resolve, { once: true }));
    early.dispose();
  };

  const post = async (url: string, params: Record<string, string>): Promise<string | undefined> => {
    const signature = signLikeTwilio(options.authToken, url, params);
    // While shutting down, one try each: a shutdown must not wait for an API that is gone.
    for (let attempt = 0; attempt < (closing.signal.aborted ? 1 : 6); attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
          body: new URLSearchParams(params),
        });
        if (response.status < 500) return response.ok ? await response.text() : undefined;
      } catch {
        // The API may be restarting: try again shortly, as Twilio does.
      }
      await sleep(200 * 2 ** attempt);
    }
    options.logger.warn({ callSid: params.CallSid, url: new URL(url).pathname }, 'simulated carrier could not reach a webhook');
    return undefined;
  };
  const sendInBackground = (url: string, params: Record<string, string>) => {
    const delivery = post(url, params);
    sending.add(delivery);
    void delivery.finally(() => sending.delete(delivery));
  };

  const realMsSince = (start: number) => Date.now() - start;

  /** Plays one TwiML document to its end, a hang-up, or a redirect. */
  const playDocument = async (sid: string, twiml: string, interrupted: AbortSignal, callee: { scenario: Scenario; params: Record<string, string> }): Promise<DocumentEnd | 'interrupted'> => {
    for (const verb of verbsOf(twiml)) {
      if (interrupted.aborted) return 'interrupted';
      switch (verb.verb) {
        case 'Gather': {
          for (const said of nounsOf(verb).filter((noun) => noun.verb === 'Say')) await wait(speechMs(said.text), interrupted);
          if (interrupted.aborted) return 'interrupted';
          // The person asked about a key presses it if it is the one that stops the calls, and wants that.
          if (pressesToOptOut(callee.scenario) && options.optOutDigit && verb.attributes.action) {
            const next = await post(verb.attributes.action, { ...callee.params, Digits: options.optOutDigit });
            return next === undefined ? { hangup: true } : { twiml: next };
          }
          break;
        }
        case 'Say':
          await wait(speechMs(verb.text), interrupted);
          break;
        case 'Pause':
          await wait(Number(verb.attributes.length ?? 1) * 1000, interrupted);
          break;
        case 'Hangup':
          return { hangup: true };
        case 'Dial': {
          const noun = nounsOf(verb)[0];
          if (!noun) break;
          const [target = '', query = ''] = noun.text.split('?');
          if (noun.verb === 'Sip' && target === SIMULATED_AGENT_DIAL_TARGET && options.simulatedAgentStreamUrl) {
            const headers = Object.fromEntries([...new URLSearchParams(query)].map(([name, value]) => [name.replace(/^X-/i, ''), value]));
            const end = await talkOverStream(streamOf(sid, `${options.simulatedAgentStreamUrl}?leg=dial`, headers), interrupted);
            if (end === 'caller-hung-up') return interrupted.aborted ? 'interrupted' : { hangup: true };
          } else {
            // Another number or SIP endpoint: the simulated network has someone there who talks, then the person hangs up.
            await wait(TALK_MS, interrupted);
            if (!interrupted.aborted) return { hangup: true };
          }
          break;
        }
        case 'Connect': {
          const stream = nounsOf(verb).find((noun) => noun.verb === 'Stream');
          if (!stream?.attributes.url) break;
          const parameters = Object.fromEntries(
            nounsOf(stream)
              .filter((noun) => noun.verb === 'Parameter')
              .map((noun) => [noun.attributes.name ?? '', noun.attributes.value ?? '']),
          );
          const end = await talkOverStream(streamOf(sid, stream.attributes.url, parameters), interrupted);
          if (end === 'caller-hung-up') return interrupted.aborted ? 'interrupted' : { hangup: true };
          if (end === 'failed') options.logger.warn({ callSid: sid, url: stream.attributes.url }, 'simulated call could not open its media stream; going on with the TwiML');
          break;
        }
        default:
          break;
      }
    }
    return interrupted.aborted ? 'interrupted' : { done: true };
  };

  const streamOf = (callSid: string, url: string, customParameters: Record<string, string>) => ({
    url,
    accountSid: SIMULATED_ACCOUNT_SID,
    callSid,
    customParameters,
    authToken: options.authToken,
  });

  /** The person talks to the agent over the stream, and hangs up after a while, when the call is changed from outside, or when the carrier closes. */
  const talkOverStream = async (stream: ReturnType<typeof streamOf>, interrupted: AbortSignal) => {
    const hangup = abortWhen([interrupted, closing.signal], TALK_MS * options.timeScale);
    try {
      return await streamMedia({ ...stream, hangup: hangup.signal });
    } finally {
      hangup.dispose();
    }
  };

  /** Plays a call from its first ring to its end, reporting each step as Twilio would. */
  const playCall = async (sid: string, request: PlaceCallRequest, scenario: Scenario) => {
    let sequence = 0;
    const common = {
      AccountSid: SIMULATED_ACCOUNT_SID,
      ApiVersion: '2010-04-01',
      CallSid: sid,
      Direction: 'outbound-api',
      From: request.from,
      To: request.to,
      Called: request.to,
      Caller: request.from,
    };
    const report = async (params: Record<string, string>) => {
      if (!request.statusCallbackUrl) return;
      await post(request.statusCallbackUrl, { ...common, CallbackSource: 'call-progress-events', ...params, SequenceNumber: String(sequence++), Timestamp: new Date().toUTCString() });
    };
    const ended = (params: Record<string, string>) => report({ CallDuration: '0', ...params });

    await wait(100);
    await report({ CallStatus: 'initiated' });
    await wait(500);
    await report({ CallStatus: 'ringing' });
    if (scenario === 'busy') return wait(1_400).then(() => ended({ CallStatus: 'busy', SipResponseCode: '486' }));
    if (scenario === 'no-answer') return wait((request.timeoutSeconds ?? 30) * 1000).then(() => ended({ CallStatus: 'no-answer', SipResponseCode: '487' }));
    if (scenario === 'failed') return wait(900).then(() => ended({ CallStatus: 'failed', SipResponseCode: '503' }));

    await wait(2_400);
    const answeredAt = Date.now();
    const detection = request.machineDetection ? detectionFor(scenario, request.machineDetection) : undefined;
    const answeredBy: Record<string, string> = detection ? { AnsweredBy: detection.answeredBy } : {};
    const verdict = detection ? { ...answeredBy, MachineDetectionDuration: String(detection.afterMs) } : {};
    await report({ CallStatus: 'in-progress', ...answeredBy });

    let interruption: Interruption | undefined;
    let interrupter = new AbortController();
    const callEnded = new AbortController();
    liveCalls.set(sid, {
      interrupt(next) {
        // A hang-up stands: a redirect after it changes nothing.
        if (interruption && 'hangup' in interruption) return;
        interruption = next;
        interrupter.abort();
      },
    });
    try {
      let twiml: string | undefined;
      if ('url' in request.answer) {
        // Detection first, then the service says what to do, knowing who answered.
        await wait(detection?.afterMs ?? 0);
        twiml = await post(request.answer.url, { ...common, CallStatus: 'in-progress', ...verdict });
      } else {
        twiml = request.answer.twiml;
        if (detection && !request.asyncAmdCallbackUrl) await wait(detection.afterMs);
        if (detection && request.asyncAmdCallbackUrl) {
          const url = request.asyncAmdCallbackUrl;
          const verdictLater = wait(detection.afterMs, callEnded.signal).then(() => {
            if (!callEnded.signal.aborted) return post(url, { AccountSid: SIMULATED_ACCOUNT_SID, CallSid: sid, ...verdict });
          });
          sending.add(verdictLater);
          void verdictLater.finally(() => sending.delete(verdictLater));
        }
      }
      const phoneUrl = options.apiBaseUrl && twiml?.includes('<Dial') ? `${options.apiBaseUrl.replace(/\/+$/, '')}${SIMULATOR_PHONE_CALLS_PATH}` : undefined;
      // A callback rings a caller who dialed in through the simulated network: their phone hears the message, then the agent.
      if (phoneUrl && twiml) sendInBackground(phoneUrl, { CallSid: sid, From: request.from, To: request.to, CallStatus: 'in-progress', Message: verbsOf(twiml).find((verb) => verb.verb === 'Say')?.text ?? '' });
      // An answer webhook that could not be reached: Twilio says an application error occurred and hangs up.
      while (twiml !== undefined) {
        const end = await playDocument(sid, twiml, interrupter.signal, { scenario, params: { ...common, CallStatus: 'in-progress' } });
        twiml = undefined;
        if (end !== 'interrupted' && 'twiml' in end) {
          twiml = end.twiml;
        } else if (end === 'interrupted' && interruption && 'twiml' in interruption) {
          twiml = interruption.twiml;
          interruption = undefined;
          interrupter = new AbortController();
        }
      }
      if (phoneUrl) sendInBackground(phoneUrl, { CallSid: sid, From: request.from, To: request.to, CallStatus: 'completed' });
    } finally {
      callEnded.abort();
      liveCalls.delete(sid);
    }
    const duration = String(Math.max(1, Math.ceil(realMsSince(answeredAt) / options.timeScale / 1000)));
    await report({ CallStatus: 'completed', CallDuration: duration, SipResponseCode: '200', ...answeredBy });
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
      if (options.control) await listen();
      const sid = `CA${randomBytes(16).toString('hex')}`;
      const play = playCall(sid, request, scenario).catch((error: unknown) => options.logger.warn({ err: error, callSid: sid }, 'simulated call failed'));
      plays.add(play);
      void play.finally(() => plays.delete(play));
      return { sid, status: 'queued' };
    },
    async endCall(sid) {
      if (!(await change({ callSid: sid }))) options.logger.warn({ callSid: sid }, 'simulated call to hang up is not in progress');
    },
    redirectCall: (sid, twiml) => change({ callSid: sid, twiml }),
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
      closing.abort();
      await Promise.all([...plays]);
      await Promise.all([...sending]);
      await Promise.all(connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
    },
  };
}
