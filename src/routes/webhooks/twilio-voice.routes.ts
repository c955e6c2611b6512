import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { InboundService } from '../../capacity/inbound-service.js';
import { errorBodySchema } from '../shared/error.schemas.js';
import { formParams, numberOf, one } from '../../carriers/twilio/twilio-form.js';
import { TWILIO_WEBHOOK_ROUTES } from '../../carriers/twilio/webhook-paths.js';

const twiml = { description: 'TwiML: what Twilio does next with the call', content: { 'text/xml': { schema: z.string() } } };
const schemaFor = (operationId: string, summary: string) => ({
  operationId,
  summary,
  tags: ['webhooks'],
  body: formParams,
  response: { 200: twiml, 403: errorBodySchema },
});

/** The inbound call flow, as Twilio drives it: answer, hold, callback, leave, connect, end. */
export const twilioVoiceRoutes: FastifyPluginAsyncZod<{ inbound: InboundService }> = async (app, { inbound }) => {
  const sendTwiml = (reply: { type(value: string): unknown }, body: string) => {
    reply.type('text/xml');
    return body;
  };

  app.post(TWILIO_WEBHOOK_ROUTES.voice, {
    schema: schemaFor('twilioVoice', "Twilio's incoming-call webhook: connect to the agent or wait in line"),
    handler: async (request, reply) =>
      sendTwiml(reply, await inbound.answer({ callSid: one(request.body.CallSid) ?? '', from: one(request.body.From) ?? '' })),
  });

  app.post(TWILIO_WEBHOOK_ROUTES.wait, {
    schema: schemaFor('twilioWait', 'Wait URL of the queue: place in line, estimated wait, callback offer, hold music'),
    handler: async (request, reply) =>
      sendTwiml(reply, await inbound.hold({ callSid: one(request.body.CallSid) ?? '', ...(one(request.body.QueueSid) && { queueSid: one(request.body.QueueSid)! }) })),
  });

  app.post(TWILIO_WEBHOOK_ROUTES.callback, {
    schema: schemaFor('twilioCallbackChoice', 'The key a waiting caller pressed after the callback offer'),
    handler: async (request, reply) =>
      sendTwiml(reply, await inbound.chooseCallback({ callSid: one(request.body.CallSid) ?? '', digits: one(request.body.Digits) ?? '' })),
  });

  app.post(TWILIO_WEBHOOK_ROUTES.queueExit, {
    schema: schemaFor('twilioQueueExit', 'A caller left the queue: connect them if it is their turn, otherwise they leave the line'),
    handler: async (request, reply) =>
      sendTwiml(reply, await inbound.queueExit({ callSid: one(request.body.CallSid) ?? '', result: one(request.body.QueueResult) ?? '' })),
  });

  app.post(TWILIO_WEBHOOK_ROUTES.connect, {
    schema: schemaFor('twilioConnect', 'Where a dequeued caller is sent: the voice agent'),
    handler: async (_request, reply) => sendTwiml(reply, await inbound.connect()),
  });

  app.post(TWILIO_WEBHOOK_ROUTES.dialEnded, {
    schema: schemaFor('twilioDialEnded', 'The agent leg of an inbound call ended: its slot frees'),
    handler: async (request, reply) => {
      const durationSeconds = numberOf(request.body.DialCallDuration);
      return sendTwiml(reply, await inbound.dialEnded({ callSid: one(request.body.CallSid) ?? '', ...(durationSeconds !== undefined && { durationSeconds }) }));
    },
  });
};
