import twilio from 'twilio';
import type { CapacityStore } from './capacity-store.js';
import type { PriorityNumbers } from './priority-numbers.js';
import type { Logger } from '../logger.js';
import type { CapacityService } from './capacity-service.js';
import { dialAgent } from '../carriers/twilio/twiml.js';
import { TWILIO_WEBHOOK_PATHS } from '../carriers/twilio/webhook-paths.js';
import { describeWait } from './wait-estimate.js';

export interface InboundOptions {
  agentTarget: string;
  queueName: string;
  holdMusicUrl: string;
  callbackThresholdSeconds: number;
}

/** The line of waiting callers, kept in the capacity store beside the slots they wait for. */
export type WaitingLine = Pick<CapacityStore, 'enqueue' | 'waiter' | 'updateWaiter' | 'position' | 'leave'>;

const VoiceResponse = twilio.twiml.VoiceResponse;

/**
 * Inbound calls: connected to the voice agent when a slot is free, otherwise held in line in our
 * order (VIP, normal, low; FIFO within each), told their place and wait, and offered a callback
 * that keeps their place when the wait is long.
 */
export function createInboundService(deps: {
  capacity: CapacityService;
  line: WaitingLine;
  priorities: PriorityNumbers;
  options: InboundOptions;
  /** Told when a waiting caller asks to be called back. */
  callbackRequested?: (caller: { callSid: string; from: string | null; priority: string; position: number | null }) => Promise<void>;
  logger: Logger;
}) {
  const { capacity, line, options, logger } = deps;

  const connectTwiml = () => {
    const response = new VoiceResponse();
    dialAgent(response, options.agentTarget, TWILIO_WEBHOOK_PATHS.dialEnded);
    return response.toString();
  };
  const hangUp = () => {
    const response = new VoiceResponse();
    response.hangup();
    return response.toString();
  };
  const holdsSlot = (callSid: string) => capacity.holds({ callSid });

  return {
    /** A call arrives: straight to the agent, or into the line. */
    async answer(call: { callSid: string; from: string }): Promise<string> {
      const priority = await deps.priorities.of(call.from);
      if (await capacity.acquire({ callSid: call.callSid })) {
        logger.info({ callSid: call.callSid, priority }, 'inbound call connected to the agent');
        return connectTwiml();
      }
      const position = await line.enqueue({ callSid: call.callSid, from: call.from, priority, enqueuedAt: new Date().toISOString(), callback: false });
      logger.info({ callSid: call.callSid, priority, position }, 'inbound call waits in line');
      const response = new VoiceResponse();
      response.enqueue(
        { waitUrl: TWILIO_WEBHOOK_PATHS.wait, waitUrlMethod: 'POST', action: TWILIO_WEBHOOK_PATHS.queueExit, method: 'POST' },
        options.queueName,
      );
      return response.toString();
    },

    /** What a waiting caller hears, again and again: place, wait, a callback offer, hold music. */
    async hold(call: { callSid: string; queueSid?: string }): Promise<string> {
      const response = new VoiceResponse();
      const waiter = await line.waiter(call.callSid);
      if (waiter && call.queueSid && waiter.queueSid !== call.queueSid) await line.updateWaiter(call.callSid, { queueSid: call.queueSid });
      const position = await line.position(call.callSid);
      if (position === undefined) {
        // Given a slot before its place in the carrier's queue was known: out of the queue, to the agent.
        if (await holdsSlot(call.callSid)) response.leave();
        else response.play(options.holdMusicUrl);
        return response.toString();
      }
      const waitSeconds = await capacity.estimateWait(position);
      response.say(`You are currently number ${position} in the queue. Estimated wait time is ${describeWait(waitSeconds)}.`);
      if (waitSeconds >= options.callbackThresholdSeconds && !waiter?.callback) {
        const gather = response.gather({ numDigits: 1, action: TWILIO_WEBHOOK_PATHS.callback, method: 'POST', timeout: 5 });
        gather.say('Press 1 to be called back when it is your turn. You will not lose your place in line.');
      }
      response.play(options.holdMusicUrl);
      return response.toString();
    },

    /** The caller pressed a key after the callback offer. */
    async chooseCallback(call: { callSid: string; digits: string }): Promise<string> {
      const response = new VoiceResponse();
      const position = call.digits === '1' ? await line.position(call.callSid) : undefined;
      if (position === undefined) {
        response.say('Please hold.');
        return response.toString();
      }
      await line.updateWaiter(call.callSid, { callback: true });
      const waiter = await line.waiter(call.callSid);
      await deps.callbackRequested?.({ callSid: call.callSid, from: waiter?.from ?? null, priority: waiter?.priority ?? 'normal', position });
      logger.info({ callSid: call.callSid }, 'caller chose a callback and keeps their place');
      response.say('Thank you. We will call you back at this number when it is your turn. Goodbye.');
      response.hangup();
      return response.toString();
    },

    /** The caller left the carrier's queue: to the agent if given a slot, otherwise out of line. */
    async queueExit(call: { callSid: string; result: string }): Promise<string> {
      if (await holdsSlot(call.callSid)) return connectTwiml();
      const waiter = await line.waiter(call.callSid);
      if (waiter && !waiter.callback) {
        await line.leave(call.callSid);
        logger.info({ callSid: call.callSid, result: call.result }, 'caller hung up while waiting and left the line');
      }
      return hangUp();
    },

    /** TwiML for a caller taken out of the queue for their turn. */
    connect: async () => connectTwiml(),

    /** The agent leg ended: the slot goes to the next caller. */
    async dialEnded(call: { callSid: string; durationSeconds?: number }): Promise<string> {
      await capacity.callEnded({ callSid: call.callSid }, call.durationSeconds);
      return hangUp();
    },
  };
}

export type InboundService = ReturnType<typeof createInboundService>;
