import formBody from '@fastify/formbody';
import type { FastifyPluginAsync } from 'fastify';
import type { CallRecordStore } from '../../calls/call-record-store.js';
import type { CallLifecycle } from '../../calls/call-lifecycle.js';
import type { InboundService } from '../../capacity/inbound-service.js';
import type { OutboundAnswer } from '../../connect/outbound-answer.js';
import { outboundAnswerRoutes } from './outbound-answer.routes.js';
import type { OptOut } from '../../contact/opt-out.js';
import { optOutRoutes } from './opt-out.routes.js';
import { twilioStatusRoutes } from './twilio-status.routes.js';
import { requireTwilioSignature } from './twilio-signature-check.js';
import { twilioVoiceRoutes } from './twilio-voice.routes.js';

export interface TwilioWebhookOptions {
  lifecycle: CallLifecycle;
  callRecords: CallRecordStore;
  inbound: InboundService;
  outboundAnswer: OutboundAnswer;
  optOut: OptOut;
  authToken: string;
  publicBaseUrl: string;
}

/** Every Twilio webhook: form bodies (the rest of the API stays JSON-only), verified by signature. */
export const twilioWebhooks: FastifyPluginAsync<TwilioWebhookOptions> = async (app, options) => {
  await app.register(formBody);
  app.addHook('preHandler', requireTwilioSignature(options));
  await app.register(twilioStatusRoutes, { lifecycle: options.lifecycle, callRecords: options.callRecords });
  await app.register(twilioVoiceRoutes, { inbound: options.inbound });
  await app.register(outboundAnswerRoutes, { outboundAnswer: options.outboundAnswer });
  await app.register(optOutRoutes, { optOut: options.optOut });
};
