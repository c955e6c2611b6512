import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { OptOut } from '../../contact/opt-out.js';
import { errorBodySchema } from '../shared/error.schemas.js';
import { formParams, one } from '../../carriers/twilio/twilio-form.js';
import { TWILIO_WEBHOOK_ROUTES } from '../../carriers/twilio/webhook-paths.js';

/** The key pressed during a `say` call's opt-out offer. */
export const optOutRoutes: FastifyPluginAsyncZod<{ optOut: OptOut }> = async (app, { optOut }) => {
  app.post(TWILIO_WEBHOOK_ROUTES.optOut, {
    schema: {
      operationId: 'twilioOptOut',
      summary: "A key pressed during a call's opt-out offer (signed): OPT_OUT_DIGIT puts the number on the do-not-call list",
      tags: ['webhooks'],
      querystring: z.object({ jobId: z.string().min(1).max(256) }),
      body: formParams,
      response: { 200: { description: 'TwiML: the confirmation, or the end of the call', content: { 'text/xml': { schema: z.string() } } }, 403: errorBodySchema },
    },
    handler: async (request, reply) => {
      const twiml = await optOut.keypress({ jobId: request.query.jobId, digits: one(request.body.Digits) ?? '', to: one(request.body.To) ?? one(request.body.Called) });
      reply.type('text/xml');
      return twiml;
    },
  });
};
