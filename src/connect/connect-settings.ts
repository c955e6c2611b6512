import type { Config } from '../config.js';
import type { AnsweringMachinePolicy, ConnectMode } from '../jobs/call-jobs.js';

/** How answered calls reach the voice agent, as configuration sets it. */
export interface ConnectSettings {
  /** The mode of a call that names none (CALL_CONNECT_MODE). */
  defaultMode: ConnectMode;
  /** The agent's number or SIP URI; undefined when `agent` calls cannot be placed. */
  agentDialTarget?: string;
  /** The agent's Media Streams URL; undefined when `stream` calls cannot be placed. */
  agentStreamUrl?: string;
  /** The policy of a call that names none (AMD_ON_HUMAN, AMD_ON_MACHINE, VOICEMAIL_MESSAGE). */
  answeringMachine: AnsweringMachinePolicy;
  /** Where the carrier asks what to do once it knows who answered; undefined without PUBLIC_URL. */
  callbackBaseUrl?: string;
  /** Whether stream URLs may be ws:// (the simulated carrier); Twilio opens wss:// only. */
  plainWebSockets: boolean;
  /** A `say` call offers to stop calling: the key to press and what it says (OPT_OUT_DIGIT); absent when off. */
  optOut?: { digit: string; prompt: string };
}

export const connectSettings = (config: Readonly<Config>): ConnectSettings => ({
  defaultMode: config.CALL_CONNECT_MODE,
  ...(config.agentDialTarget && { agentDialTarget: config.agentDialTarget }),
  ...(config.agentStreamUrl && { agentStreamUrl: config.agentStreamUrl }),
  answeringMachine: {
    onHuman: config.AMD_ON_HUMAN,
    onMachine: config.AMD_ON_MACHINE,
    ...(config.VOICEMAIL_MESSAGE && { voicemailMessage: config.VOICEMAIL_MESSAGE }),
  },
  ...(config.callbackBaseUrl && { callbackBaseUrl: config.callbackBaseUrl }),
  plainWebSockets: config.carrier === 'simulated',
  ...(config.OPT_OUT_DIGIT && { optOut: { digit: config.OPT_OUT_DIGIT, prompt: config.OPT_OUT_PROMPT ?? `To stop these calls, press ${config.OPT_OUT_DIGIT}.` } }),
});
