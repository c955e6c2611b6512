import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CallRecordStore } from '../../calls/call-record-store.js';
import type { CallEvent } from '../../carriers/call-status.js';
import type { CallLifecycle } from '../../calls/call-lifecycle.js';
import { errorBodySchema } from '../shared/error.schemas.js';
import { formParams, numberOf, one, type FormParams } from '../../carriers/twilio/twilio-form.js';
import { TWILIO_WEBHOOK_ROUTES } from '../../carriers/twilio/webhook-paths.js';

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

/** Twilio's call progress callbacks: idempotent, and never moving a call backwards. */
export const twilioStatusRoutes: FastifyPluginAsyncZod<{ lifecycle: CallLifecycle; callRecords: CallRecordStore }> = async (app, options) => {
  app.post(TWILIO_WEBHOOK_ROUTES.status, {
    schema: {
      operationId: 'twilioStatusCallback',
      summary: "Twilio's call status callback (signed with X-Twilio-Signature)",
      tags: ['webhooks'],
      querystring: z.object({ jobId: z.string().max(256).optional() }),
      body: formParams,
      response: { 204: z.undefined().describe('Recorded, or nothing to record'), 403: errorBodySchema },
    },
    handler: async (request, reply) => {
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
