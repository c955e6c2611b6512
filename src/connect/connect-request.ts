import { validationError, type ErrorDetail } from '../errors.js';
import type { AnsweringMachinePolicy, CallJobData } from '../jobs/call-jobs.js';
import { MAX_INLINE_TWIML_LENGTH } from '../carriers/twilio/twiml.js';
import { connectTwiml, detectsMachines } from './connect-plan.js';
import type { ConnectSettings } from './connect-settings.js';

/** A call as a request gives it: the answering-machine policy may name only what it changes. */
export type RequestedCall = Omit<CallJobData, 'answeringMachine'> & { answeringMachine?: Partial<AnsweringMachinePolicy> };

/**
 * A requested call with its connect mode and answering-machine policy settled from the defaults,
 * or the reasons it cannot be placed as asked. Targets stay unresolved unless the call names its
 * own: a queued call reaches the agent configured when it is dialed.
 */
export function settleConnect(call: RequestedCall, settings: ConnectSettings, index?: number): CallJobData {
  const problems: ErrorDetail[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message, ...(index !== undefined && { index }) });
  const mode = call.connect ?? settings.defaultMode;

  if (mode === 'agent' && !(call.agentTarget ?? settings.agentDialTarget)) {
    problem('agentTarget', 'connect is agent, but the call names no agentTarget and AGENT_DIAL_TARGET is not set');
  }
  if (mode === 'stream' && !(call.streamUrl ?? settings.agentStreamUrl)) {
    problem('streamUrl', 'connect is stream, but the call names no streamUrl and AGENT_STREAM_URL is not set');
  }
  if (call.agentTarget !== undefined && mode !== 'agent') problem('agentTarget', `agentTarget is used only with connect: agent (this call's mode is ${mode})`);
  if (call.streamUrl !== undefined && mode !== 'stream') problem('streamUrl', `streamUrl is used only with connect: stream (this call's mode is ${mode})`);
  if (call.streamUrl?.startsWith('ws:') && !settings.plainWebSockets) problem('streamUrl', 'Twilio opens Media Streams over wss:// only');
  if (call.answeringMachine !== undefined && call.machineDetection !== undefined) {
    problem('machineDetection', 'give answeringMachine or machineDetection, not both: answeringMachine chooses the detection it needs');
  }

  // A call that asks for plain detection (machineDetection) only wants to know who answered.
  const defaults = call.machineDetection !== undefined ? undefined : settings.answeringMachine;
  const policy: AnsweringMachinePolicy | undefined = call.answeringMachine
    ? {
        onHuman: call.answeringMachine.onHuman ?? settings.answeringMachine.onHuman,
        onMachine: call.answeringMachine.onMachine ?? settings.answeringMachine.onMachine,
        ...((call.answeringMachine.voicemailMessage ?? settings.answeringMachine.voicemailMessage) && {
          voicemailMessage: call.answeringMachine.voicemailMessage ?? settings.answeringMachine.voicemailMessage,
        }),
      }
    : defaults;
  const detects = detectsMachines(policy);
  if (detects && !settings.callbackBaseUrl) {
    problem('answeringMachine', 'acting on who answered needs PUBLIC_URL: the carrier asks this service what to do once it knows, and without PUBLIC_URL it cannot reach it');
  }
  if (mode === 'say' && settings.optOut && settings.callbackBaseUrl && connectTwiml('j'.repeat(128), { ...call, answeringMachine: undefined, connect: mode } as CallJobData, settings).length > MAX_INLINE_TWIML_LENGTH) {
    problem('message', `message is too long to be said with the opt-out offer within ${MAX_INLINE_TWIML_LENGTH} characters of TwiML`);
  }
  if (problems.length > 0) throw validationError(problems[0]!.message, problems);

  const { answeringMachine: _requested, ...rest } = call;
  return { ...rest, connect: mode, ...(detects && { answeringMachine: policy }) };
}
