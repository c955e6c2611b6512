import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CapacityService } from '../../capacity/capacity-service.js';
import { errorBodySchema } from '../shared/error.schemas.js';

/** The voice agent's end-of-call report, shaped like Vapi's `end-of-call-report` server message. */
const endOfCallReport = z.object({
  message: z
    .object({
      type: z.string(),
      call: z.object({ id: z.string().optional(), phoneCallProviderId: z.string().optional() }).loose().optional(),
      durationSeconds: z.number().optional(),
      endedReason: z.string().optional(),
    })
    .loose(),
});

const sameSecret = (given: string | undefined, expected: string) =>
  given !== undefined && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));

export const agentRoutes: FastifyPluginAsyncZod<{ capacity: Pick<CapacityService, 'releaseForCallSid'>; secret: string | undefined }> = async (app, { capacity, secret }) => {
  app.post('/end-of-call', {
    schema: {
      operationId: 'agentEndOfCall',
      summary: "The voice agent's end-of-call report (x-vapi-secret): the call's slot frees",
      tags: ['webhooks'],
      body: endOfCallReport,
      response: { 200: z.object({ success: z.literal(true), released: z.boolean() }), 403: errorBodySchema },
    },
    handler: async (request, reply) => {
      // Without a configured secret only this machine may report: a slot is not freed on a stranger's word.
      const trusted = secret ? sameSecret(request.headers['x-vapi-secret'] as string | undefined, secret) : ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(request.ip);
      if (!trusted) {
        return reply.code(403).send({ success: false, error: 'INVALID_SECRET', message: 'x-vapi-secret does not match AGENT_WEBHOOK_SECRET', requestId: request.id });
      }
      const { message } = request.body;
      const callSid = message.call?.phoneCallProviderId;
      if (message.type !== 'end-of-call-report' || !callSid) return { success: true as const, released: false };
      return { success: true as const, released: await capacity.releaseForCallSid(callSid, message.durationSeconds) };
    },
  });
};
