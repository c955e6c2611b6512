import type { CallAnswer } from '../carriers/carrier.js';
import type { Answerer } from '../carriers/call-status.js';
import { dialTwiml, hangupTwiml, isSipTarget, MAX_INLINE_TWIML_LENGTH, sayThenDialTwiml, sayThenHangupTwiml, sayTwiml, sayWithKeypressTwiml, streamTwiml } from '../carriers/twilio/twiml.js';
import { TWILIO_WEBHOOK_PATHS } from '../carriers/twilio/webhook-paths.js';
import { connectModeOf, type AnswerAction, type AnsweringMachinePolicy, type CallJobData } from '../jobs/call-jobs.js';
import { callContext, sipHeaders, streamParameters } from './call-context.js';
import type { ConnectSettings } from './connect-settings.js';

/** A call that cannot be placed as it was asked (its agent is no longer configured): dialing would reach no one. */
export class ConnectError extends Error {
  override name = 'ConnectError';
}

/** What a dial asks of the carrier beyond the numbers, and whether the call holds a live-call slot from the dial. */
export interface DialPlan {
  answer: CallAnswer;
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  asyncAmdCallbackUrl?: string;
  /** The call may reach the voice agent, so it takes one of the agent's slots when it is dialed. */
  usesAgent: boolean;
}

/** Whether who answers changes anything: only then is the call dialed with answering-machine detection. */
export const detectsMachines = (policy: AnsweringMachinePolicy | undefined): policy is AnsweringMachinePolicy =>
  policy !== undefined && (policy.onHuman !== 'connect' || policy.onMachine !== 'connect');

/**
 * With the agent answering people at once, detection runs beside the call (AsyncAmd): a person hears
 * the agent without the second or more detection takes, and a machine is dealt with when detected.
 * A `say` call, or one whose person is not connected, waits for the verdict first.
 */
export const detectsBeside = (data: CallJobData, policy: AnsweringMachinePolicy) => connectModeOf(data) !== 'say' && policy.onHuman === 'connect';

export const answerActionFor = (policy: AnsweringMachinePolicy | undefined, answerer: Answerer): AnswerAction => {
  if (!policy) return 'connect';
  // A fax takes no voicemail and has no one to talk to.
  if (answerer === 'fax') return 'hangup';
  return answerer === 'machine' ? policy.onMachine : policy.onHuman;
};

export const optOutUrl = (base: string, jobId: string) => `${base.replace(/\/+$/, '')}${TWILIO_WEBHOOK_PATHS.optOut}?jobId=${encodeURIComponent(jobId)}`;

export const answerUrl = (base: string, jobId: string) => `${base.replace(/\/+$/, '')}${TWILIO_WEBHOOK_PATHS.outboundAnswer}?jobId=${encodeURIComponent(jobId)}`;

function agentTarget(data: CallJobData, settings: ConnectSettings): string {
  const target = data.agentTarget ?? settings.agentDialTarget;
  if (!target) throw new ConnectError('this agent call names no agentTarget and AGENT_DIAL_TARGET is not set');
  return target;
}

function streamUrl(data: CallJobData, settings: ConnectSettings): string {
  const url = data.streamUrl ?? settings.agentStreamUrl;
  if (!url) throw new ConnectError('this stream call names no streamUrl and AGENT_STREAM_URL is not set');
  return url;
}

/** The TwiML that connects an answered call in its mode, the lead's context travelling with it. */
export function connectTwiml(jobId: string, data: CallJobData, settings: ConnectSettings): string {
  if (data.connectToAgent) return sayThenDialTwiml(data.message, agentTarget(data, settings));
  const context = callContext(jobId, data);
  switch (connectModeOf(data)) {
    case 'say':
      return settings.optOut && settings.callbackBaseUrl
        ? sayWithKeypressTwiml(data.message, settings.optOut.prompt, optOutUrl(settings.callbackBaseUrl, jobId))
        : sayTwiml(data.message);
    case 'agent': {
      const target = agentTarget(data, settings);
      return dialTwiml(target, isSipTarget(target) ? sipHeaders(context) : []);
    }
    case 'stream': {
      const url = streamUrl(data, settings);
      const twiml = streamTwiml(url, streamParameters(context, (parameters) => streamTwiml(url, parameters)));
      if (twiml.length > MAX_INLINE_TWIML_LENGTH) throw new Error(`stream TwiML of ${twiml.length} characters: the context was measured shorter than it is written`);
      return twiml;
    }
  }
}

/** The TwiML for what the policy chose once it was known who answered. */
export function answerTwiml(action: AnswerAction, jobId: string, data: CallJobData, settings: ConnectSettings): string {
  switch (action) {
    case 'connect':
      return connectTwiml(jobId, data, settings);
    case 'voicemail':
      return sayThenHangupTwiml(data.answeringMachine?.voicemailMessage ?? settings.answeringMachine.voicemailMessage ?? data.message);
    case 'hangup':
      return hangupTwiml();
  }
}

/** How one call is dialed: inline TwiML, or detection first (and the answer webhook), and whether it holds a slot. */
export function dialPlan(jobId: string, data: CallJobData, settings: ConnectSettings): DialPlan {
  const mode = connectModeOf(data);
  const usesAgent = mode !== 'say';
  const policy = data.answeringMachine;
  if (data.connectToAgent || !detectsMachines(policy)) {
    return { answer: { twiml: connectTwiml(jobId, data, settings) }, ...(data.machineDetection && { machineDetection: data.machineDetection }), usesAgent };
  }
  if (!settings.callbackBaseUrl) throw new ConnectError('answering-machine detection needs PUBLIC_URL, where the carrier reports who answered');
  const url = answerUrl(settings.callbackBaseUrl, jobId);
  // Voicemail waits for the beep; otherwise the first sign of a machine is enough.
  const machineDetection = policy.onMachine === 'voicemail' || policy.onHuman === 'voicemail' ? 'DetectMessageEnd' : 'Enable';
  if (detectsBeside(data, policy)) {
    return { answer: { twiml: connectTwiml(jobId, data, settings) }, machineDetection, asyncAmdCallbackUrl: url, usesAgent };
  }
  const mayConnect = policy.onHuman === 'connect' || policy.onMachine === 'connect';
  return { answer: { url }, machineDetection, usesAgent: usesAgent && mayConnect };
}
