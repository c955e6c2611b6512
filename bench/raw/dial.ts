import type { Job } from 'bullmq';
import { createTwilioClient } from '../../src/carriers/twilio/twilio-carrier.js';
import { sayTwiml } from '../../src/carriers/twilio/twiml.js';
import { STAND_IN_ACCOUNT_SID } from '../support/twilio-latency-stand-in.js';

/** What a hand-rolled BullMQ script's job does: place the call with the Twilio SDK, nothing more. */
export function rawDial(twilioUrl: string) {
  const twilio = createTwilioClient({ accountSid: STAND_IN_ACCOUNT_SID, authToken: 'bench', apiBaseUrl: twilioUrl, timeoutMs: 15_000 });
  return async (job: Job<{ to: string; message: string }>) => {
    const call = await twilio.calls.create({ to: job.data.to, from: '+14155550100', twiml: sayTwiml(job.data.message) });
    return { callSid: call.sid };
  };
}

/** The service's environment for dialing through the Twilio stand-in at `twilioUrl`. */
export const twilioEnv = (twilioUrl: string, apiUrl: string) => ({
  TWILIO_ACCOUNT_SID: STAND_IN_ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: 'bench',
  TWILIO_PHONE_NUMBER: '+14155550100',
  TWILIO_API_BASE_URL: twilioUrl,
  // Status callbacks go to the API, and the stand-in never sends any: no polling, as in production.
  PUBLIC_URL: apiUrl,
});
