import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { signLikeTwilio } from '../twilio/twilio-signature.js';
import { SIMULATED_ACCOUNT_SID } from './simulated-carrier.js';
import { verbsOf, type TwimlNode as Node } from './twiml-verbs.js';
import { TWILIO_WEBHOOK_PATHS } from '../twilio/webhook-paths.js';

/** How a simulated caller behaves. Durations are real seconds of the call, played at the time scale. */
export interface SimulatedCallerOptions {
  from: string;
  /** How long they talk with the agent once connected. */
  talkSeconds?: number;
  /** Whether they press 1 when offered a callback. */
  acceptsCallback?: boolean;
  /** They hang up after waiting this long (never, by default). */
  patienceSeconds?: number;
}

export type SimulatedCallState = 'ringing' | 'connected' | 'waiting' | 'called-back-later' | 'hung-up' | 'ended';

export interface SimulatedInboundCall {
  callSid: string;
  from: string;
  state: SimulatedCallState;
  /** Everything the caller was told, in order. */
  heard: string[];
  arrivedAt: string;
  /** When the service took them out of the queue for their turn. */
  dequeuedAt?: string;
  /** When they answered the callback they had asked for. */
  calledBackAt?: string;
  connectedAt?: string;
  endedAt?: string;
}

/** Waits `ms`, or less if `signal` aborts; either way it leaves no listener behind. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * The simulated carrier's inbound side: callers who dial in, hear the service's TwiML and act on
 * it as Twilio would (connect, wait in the queue, listen, press 1, hang up), over the service's real,
 * signed webhooks. Waiting callers are taken out of the queue through `redirect`, as Twilio's Queue
 * Member API does.
 */
export function createSimulatedInbound(options: { baseUrl: string; authToken: string; timeScale: number; queueName: string; logger: Logger }) {
  const calls = new Map<string, SimulatedInboundCall & { redirectTo?: string; callbackSid?: string; wake: AbortController }>();
  const queueSid = `QU${createHash('sha256').update(options.queueName).digest('hex').slice(0, 32)}`;
  const realMs = (seconds: number) => seconds * 1000 * options.timeScale;

  const post = async (path: string, params: Record<string, string>): Promise<string> => {
    const url = new URL(path, options.baseUrl).href;
    const body = { AccountSid: SIMULATED_ACCOUNT_SID, ApiVersion: '2010-04-01', ...params };
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio(options.authToken, url, body) },
      body: new URLSearchParams(body),
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return response.text();
  };

  /** Connected to the agent: talk, then the agent leg ends and Dial's action is told. */
  const talk = async (call: SimulatedInboundCall, dialAction: string, talkSeconds: number) => {
    call.state = 'connected';
    call.connectedAt = new Date().toISOString();
    await sleep(realMs(talkSeconds), new AbortController().signal);
    // The call is over on the network before Twilio tells the service.
    call.state = 'ended';
    call.endedAt = new Date().toISOString();
    await post(dialAction, { CallSid: call.callSid, From: call.from, DialCallStatus: 'completed', DialCallDuration: String(talkSeconds) });
  };

  const dialIn = (twiml: string) => verbsOf(twiml).find((verb) => verb.verb === 'Dial');

  const wait = async (call: SimulatedInboundCall & { redirectTo?: string; wake: AbortController }, enqueue: Record<string, string>, caller: SimulatedCallerOptions) => {
    call.state = 'waiting';
    const waitedSince = Date.now();
    const action = enqueue.action ?? TWILIO_WEBHOOK_PATHS.queueExit;
    for (;;) {
      if (call.redirectTo) {
        const dial = dialIn(await post(call.redirectTo, { CallSid: call.callSid, From: call.from }));
        if (dial) return talk(call, dial.attributes.action ?? TWILIO_WEBHOOK_PATHS.dialEnded, caller.talkSeconds ?? 60);
        return;
      }
      if (caller.patienceSeconds !== undefined && Date.now() - waitedSince > realMs(caller.patienceSeconds)) {
        call.state = 'hung-up';
        await post(action, { CallSid: call.callSid, QueueSid: queueSid, QueueResult: 'hangup' });
        return;
      }
      const twiml = await post(enqueue.waitUrl ?? TWILIO_WEBHOOK_PATHS.wait, { CallSid: call.callSid, From: call.from, QueueSid: queueSid, QueueTime: String(Math.round((Date.now() - waitedSince) / 1000)) });
      for (const verb of verbsOf(twiml)) {
        if (verb.verb === 'Say') call.heard.push(verb.text);
        if (verb.verb === 'Leave') {
          const dial = dialIn(await post(action, { CallSid: call.callSid, QueueSid: queueSid, QueueResult: 'leave' }));
          if (dial) return talk(call, dial.attributes.action ?? TWILIO_WEBHOOK_PATHS.dialEnded, caller.talkSeconds ?? 60);
          return;
        }
        if (verb.verb === 'Gather') {
          const offer = verb.children.map((child) => ((child.Say as Node[] | undefined)?.[0]?.['#text'] as string) ?? '').join('');
          if (offer) call.heard.push(offer);
          if (caller.acceptsCallback && verb.attributes.action) {
            for (const reply of verbsOf(await post(verb.attributes.action, { CallSid: call.callSid, Digits: '1' }))) if (reply.verb === 'Say') call.heard.push(reply.text);
            call.state = 'called-back-later';
            await post(action, { CallSid: call.callSid, QueueSid: queueSid, QueueResult: 'hangup' });
            return;
          }
        }
        if (verb.verb === 'Play') await sleep(realMs(15), call.wake.signal);
        if (call.redirectTo) break;
      }
    }
  };

  const run = async (call: SimulatedInboundCall & { redirectTo?: string; wake: AbortController }, caller: SimulatedCallerOptions) => {
    const twiml = await post(TWILIO_WEBHOOK_PATHS.voice, { CallSid: call.callSid, From: call.from, To: '+15005550006', Direction: 'inbound', CallStatus: 'ringing' });
    const first = verbsOf(twiml)[0];
    if (first?.verb === 'Dial') return talk(call, first.attributes.action ?? TWILIO_WEBHOOK_PATHS.dialEnded, caller.talkSeconds ?? 60);
    if (first?.verb === 'Enqueue') return wait(call, first.attributes, caller);
    call.state = 'ended';
  };

  return {
    queueSid,
    /** A caller dials in; the call plays out in the background. */
    call(caller: SimulatedCallerOptions): SimulatedInboundCall {
      const call = { callSid: `CA${randomBytes(16).toString('hex')}`, from: caller.from, state: 'ringing' as SimulatedCallState, heard: [], arrivedAt: new Date().toISOString(), wake: new AbortController() };
      calls.set(call.callSid, call);
      void run(call, caller).catch((error: unknown) => {
        options.logger.warn({ err: error, callSid: call.callSid }, 'simulated inbound call failed');
        call.state = 'ended';
      });
      return call;
    },
    /** Twilio's Queue Member update: false when the caller is no longer waiting. */
    redirect(callSid: string, url: string): boolean {
      const call = calls.get(callSid);
      if (!call || call.state !== 'waiting' || call.redirectTo) return false;
      call.redirectTo = url;
      call.dequeuedAt = new Date().toISOString();
      call.wake.abort();
      return true;
    },
    /**
     * An outbound call reaches the phone of a caller who asked to be called back: answered, they hear
     * the message and talk with the agent; when it ends, they are served. False for any other phone.
     */
    phoneCall(call: { to: string; callSid: string; status: string; message?: string }): boolean {
      const caller = [...calls.values()]
        .reverse()
        .find((known) => known.from === call.to && (known.callbackSid === call.callSid || (known.state === 'called-back-later' && !known.callbackSid)));
      if (!caller) return false;
      const now = new Date().toISOString();
      if (call.status === 'in-progress') {
        Object.assign(caller, { state: 'connected', callbackSid: call.callSid, calledBackAt: now, connectedAt: now });
        if (call.message) caller.heard.push(call.message);
      } else if (caller.callbackSid === call.callSid) {
        Object.assign(caller, { state: 'ended', endedAt: now });
      }
      return true;
    },
    list(): SimulatedInboundCall[] {
      return [...calls.values()].map(({ redirectTo: _redirect, callbackSid: _callback, wake: _wake, ...call }) => call);
    },
  };
}

export type SimulatedInbound = ReturnType<typeof createSimulatedInbound>;
