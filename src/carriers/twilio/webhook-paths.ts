/** Where Twilio's webhooks are served: the routes are registered here, and TwiML and dials point here. */
export const TWILIO_WEBHOOK_PREFIX = '/webhooks/twilio';

/** Each webhook's path under the prefix, as its route registers it. */
export const TWILIO_WEBHOOK_ROUTES = {
  status: '/status',
  voice: '/voice',
  wait: '/wait',
  callback: '/callback',
  queueExit: '/queue-exit',
  connect: '/connect',
  dialEnded: '/dial-ended',
  outboundAnswer: '/outbound-answer',
  optOut: '/opt-out',
} as const;

type Webhook = keyof typeof TWILIO_WEBHOOK_ROUTES;

/** Each webhook's absolute path, for TwiML actions and status callbacks. */
export const TWILIO_WEBHOOK_PATHS = Object.fromEntries(
  Object.entries(TWILIO_WEBHOOK_ROUTES).map(([name, path]) => [name, `${TWILIO_WEBHOOK_PREFIX}${path}`]),
) as Record<Webhook, string>;

/** The simulated carrier's own endpoints on the API (signed like Twilio's). */
export const SIMULATOR_PREFIX = '/simulator';
export const SIMULATOR_ROUTES = { phoneCalls: '/phone-calls', queueMember: '/queues/:queueSid/members/:callSid' } as const;
export const simulatorQueueMemberPath = (queueSid: string, callSid: string) => `${SIMULATOR_PREFIX}/queues/${queueSid}/members/${callSid}`;
export const SIMULATOR_PHONE_CALLS_PATH = `${SIMULATOR_PREFIX}${SIMULATOR_ROUTES.phoneCalls}`;

/** The built-in simulated voice agent: the target bridged calls reach, and where it takes Media Streams. */
export const SIMULATED_AGENT_DIAL_TARGET = 'sip:agent@simulated-agent.invalid';
export const SIMULATOR_AGENT_ROUTES = { stream: '/agent/stream', sessions: '/agent/sessions' } as const;
export const SIMULATED_AGENT_STREAM_PATH = `${SIMULATOR_PREFIX}${SIMULATOR_AGENT_ROUTES.stream}`;

/** The simulated agent's Media Streams URL on the API at `apiBaseUrl` (ws:// for http://, wss:// for https://). */
export const simulatedAgentStreamUrl = (apiBaseUrl: string) => `${apiBaseUrl.replace(/^http/, 'ws').replace(/\/+$/, '')}${SIMULATED_AGENT_STREAM_PATH}`;
