import formBody from '@fastify/formbody';
import type { FastifyPluginAsync } from 'fastify';
import type { CallRecordStore } from '../../calls/call-record-store.js';
import type { CallLifecycle } from '../../calls/call-lifecycle.js';
import type { InboundService } from '../../capacity/inbound-service.js';
import { twilioStatusRoutes } from './twilio-status.routes.js';
import { isSignedByTwilio } from '../../carriers/twilio/twilio-signature.js';
import { twilioVoiceRoutes } from './twilio-voice.routes.js';
import type { FormParams } from '../../carriers/twilio/twilio-form.js';

export interface TwilioWebhookOptions {
  lifecycle: CallLifecycle;
  callRecords: CallRecordStore;
  inbound: InboundService;
  authToken: string;
  /** The base URL Twilio calls us at; the signature covers it. */
  publicBaseUrl: string;
}

/** Every Twilio webhook: form bodies (the rest of the API stays JSON-only), verified by signature. */
export const twilioWebhooks: FastifyPluginAsync<TwilioWebhookOptions> = async (app, options) => {
  await app.register(formBody);
  app.addHook('preHandler', async (request, reply) => {
    const signed = isSignedByTwilio({
      authToken: options.authToken,
      publicBaseUrl: options.publicBaseUrl,
      requestUrl: request.url,
      signature: request.headers['x-twilio-signature'] as string | undefined,
      params: (request.body ?? {}) as FormParams,
    });
    if (!signed) {
      request.log.warn({ url: request.url }, 'Twilio webhook with a bad signature refused');
      return reply.code(403).send({ success: false, error: 'INVALID_SIGNATURE', message: 'X-Twilio-Signature does not match this request', requestId: request.id });
    }
  });
  await app.register(twilioStatusRoutes, { lifecycle: options.lifecycle, callRecords: options.callRecords });
  await app.register(twilioVoiceRoutes, { inbound: options.inbound });
};
