import formBody from '@fastify/formbody';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CallRecordStore } from '../../adapters/call-record-store.js';
import type { CallEvent } from '../../jobs/call-status.js';
import type { CallLifecycle } from '../../services/call-lifecycle.js';
import { errorBodySchema } from '../shared/error.schemas.js';
import { isSignedByTwilio } from './twilio-signature.js';

export interface TwilioWebhookOptions {
  lifecycle: CallLifecycle;
  callRecords: CallRecordStore;
  authToken: string;
  /** The base URL Twilio calls us at; the signature covers it. */
  publicBaseUrl: string;
}

const formParams = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
type FormParams = z.infer<typeof formParams>;

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
const numberOf = (value: string | string[] | undefined) => {
  const text = one(value);
  return text === undefined || text === '' || Number.isNaN(Number(text)) ? undefined : Number(text);
};

/** Twilio's status callback parameters, as one call event. */
export function callEventFromCallback(params: FormParams): CallEvent | undefined {
  const status = one(params.CallStatus);
  if (!status) return undefined;
  const timestamp = Date.parse(one(params.Timestamp) ?? '');
  const callSid = one(params.CallSid);
  const event: CallEvent = {
    status,
    at: new Date(Number.isNaN(timestamp) ? Date.now() : timestamp).toISOString(),
    ...(callSid && { callSid }),
  };
  const duration = numberOf(params.CallDuration);
  const sipResponseCode = numberOf(params.SipResponseCode);
  const answeredBy = one(params.AnsweredBy);
  const errorCode = one(params.ErrorCode);
  const errorMessage = one(params.ErrorMessage);
  return {
    ...event,
    ...(duration !== undefined && { durationSeconds: duration }),
    ...(sipResponseCode !== undefined && { sipResponseCode }),
    ...(answeredBy && { answeredBy }),
    ...(errorCode && { errorCode }),
    ...(errorMessage && { errorMessage }),
  };
}

/** Twilio's call progress callbacks: signed, idempotent, and never moving a call backwards. */
export const twilioStatusRoutes: FastifyPluginAsyncZod<TwilioWebhookOptions> = async (app, options) => {
  // Form bodies are Twilio's format; the rest of the API stays JSON-only.
  await app.register(formBody);

  app.post('/status', {
    schema: {
      operationId: 'twilioStatusCallback',
      summary: "Twilio's call status callback (signed with X-Twilio-Signature)",
      tags: ['webhooks'],
      querystring: z.object({ jobId: z.string().max(256).optional() }),
      body: formParams,
      response: { 204: z.undefined().describe('Recorded, or nothing to record'), 403: errorBodySchema },
    },
    handler: async (request, reply) => {
      const signed = isSignedByTwilio({
        authToken: options.authToken,
        publicBaseUrl: options.publicBaseUrl,
        requestUrl: request.url,
        signature: request.headers['x-twilio-signature'] as string | undefined,
        params: request.body,
      });
      if (!signed) {
        request.log.warn({ url: request.url }, 'status callback with a bad signature refused');
        return reply.code(403).send({ success: false, error: 'INVALID_SIGNATURE', message: 'X-Twilio-Signature does not match this request', requestId: request.id });
      }
      const callSid = one(request.body.CallSid);
      const jobId = request.query.jobId || (callSid ? await options.callRecords.jobIdForSid(callSid) : undefined);
      const event = callEventFromCallback(request.body);
      if (!jobId || !event) {
        request.log.warn({ callSid, jobId }, 'status callback for no known job');
        return reply.code(204).send();
      }
      await options.lifecycle.report(jobId, event);
      return reply.code(204).send();
    },
  });
};
