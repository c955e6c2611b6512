import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';

const healthResponse = z.object({
  success: z.boolean(),
  status: z.enum(['ok', 'degraded']),
  redis: z.enum(['up', 'down']),
  carrier: z.string(),
});

export interface HealthRoutesOptions {
  pingRedis: () => Promise<boolean>;
  carrier: string;
}

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, { pingRedis, carrier }) => {
  app.get('/health', {
    schema: {
      operationId: 'getHealth',
      summary: 'Whether the API can reach Redis',
      tags: ['health'],
      response: { 200: healthResponse, 503: healthResponse },
    },
    handler: async (_request, reply) => {
      const up = await pingRedis();
      return reply.code(up ? 200 : 503).send({ success: up, status: up ? 'ok' : 'degraded', redis: up ? 'up' : 'down', carrier });
    },
  });
};
