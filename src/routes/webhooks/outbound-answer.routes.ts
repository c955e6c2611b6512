import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { OutboundAnswer } from '../../connect/outbound-answer.js';
import { errorBodySchema } from '../shared/error.schemas.js';
import { formParams, one } from '../../carriers/twilio/twilio-form.js';
import { TWILIO_WEBHOOK_ROUTES } from '../../carriers/twilio/webhook-paths.js';

/** Who answered an outbound call that detects machines, and what the call does about it. */
export const outboundAnswerRoutes: FastifyPluginAsyncZod<{ outboundAnswer: OutboundAnswer }> = async (app, { outboundAnswer }) => {
  app.post(TWILIO_WEBHOOK_ROUTES.outboundAnswer, {
    schema: {
      operationId: 'twilioOutboundAnswer',
      summary: "An outbound call was answered (Url, with AnsweredBy) or its answering-machine verdict came (AsyncAmdStatusCallback): connect, voicemail or hang up per the call's policy",
      tags: ['webhooks'],
      querystring: z.object({ jobId: z.string().min(1).max(256) }),
      body: formParams,
      response: {
        200: { description: 'TwiML: what the call does now (empty when the verdict came after it was connected)', content: { 'text/xml': { schema: z.string() } } },
        403: errorBodySchema,
      },
    },
    handler: async (request, reply) => {
      const twiml = await outboundAnswer.answer({
        jobId: request.query.jobId,
        callSid: one(request.body.CallSid) ?? '',
        answeredBy: one(request.body.AnsweredBy),
      });
      reply.type('text/xml');
      return twiml;
    },
  });
};
