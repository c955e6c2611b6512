import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createRedis } from '../lib/redis.js';
import type { Carrier } from './carrier.js';
import { createSimulatedCarrier } from './simulated/simulated-carrier.js';
import { createTwilioCarrier } from './twilio/twilio-carrier.js';
import { simulatedAgentStreamUrl } from './twilio/webhook-paths.js';

/** Twilio when its credentials are set; the simulated carrier otherwise. */
export function createCarrier(config: Readonly<Config>, logger: Logger, announce = true): Carrier {
  if (config.carrier === 'twilio') {
    if (announce) logger.info({ apiBaseUrl: config.TWILIO_API_BASE_URL }, 'dialing through Twilio');
    return createTwilioCarrier({
      accountSid: config.TWILIO_ACCOUNT_SID!,
      authToken: config.TWILIO_AUTH_TOKEN!,
      apiBaseUrl: config.TWILIO_API_BASE_URL,
      timeoutMs: config.TWILIO_TIMEOUT_MS,
    });
  }
  if (announce) logger.warn('SIMULATED CARRIER: no Twilio credentials are set, so no real phone will ring. Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER to dial for real.');
  return createSimulatedCarrier({
    latencyMs: config.SIMULATED_DIAL_LATENCY_MS,
    timeScale: config.SIMULATED_TIME_SCALE,
    authToken: config.webhookAuthToken,
    ...(config.callbackBaseUrl && { apiBaseUrl: config.callbackBaseUrl, simulatedAgentStreamUrl: simulatedAgentStreamUrl(config.callbackBaseUrl) }),
    ...(config.OPT_OUT_DIGIT && { optOutDigit: config.OPT_OUT_DIGIT }),
    control: { channel: `${config.QUEUE_PREFIX}:simulated:call-control`, connect: () => createRedis(config.redis, 'consumer', 'simulated-calls') },
    logger,
  });
}


/** Placed calls are followed by polling the carrier when no status callback can reach this service. */
export const pollsCallStatus = (config: Readonly<Config>, dialer: Carrier) => config.callbackBaseUrl === undefined && dialer.fetchCall !== undefined;

/** Whether the call log outbox is drained (Supabase is configured). */
export const logsCalls = (config: Readonly<Config>): config is Readonly<Config> & { SUPABASE_URL: string; SUPABASE_SERVICE_ROLE_KEY: string } =>
  Boolean(config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY);
