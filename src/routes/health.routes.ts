import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CapacityService } from '../services/capacity-service.js';
import { capacitySnapshotSchema } from './capacity/capacity.routes.js';

const healthResponse = z.object({
  success: z.boolean(),
  status: z.enum(['ok', 'degraded']),
  redis: z.enum(['up', 'down']),
  carrier: z.string(),
  capacity: capacitySnapshotSchema.nullable().describe('Null while Redis is unreachable'),
});

export interface HealthRoutesOptions {
  pingRedis: () => Promise<boolean>;
  carrier: string;
  capacity: CapacityService;
}

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, { pingRedis, carrier, capacity }) => {
  app.get('/health', {
    schema: {
      operationId: 'getHealth',
      summary: 'Whether the API can reach Redis, and live-call capacity: slots, callers waiting, wait estimate',
      tags: ['health'],
      response: { 200: healthResponse, 503: healthResponse },
    },
    handler: async (_request, reply) => {
      const up = await pingRedis();
      const snapshot = up ? await capacity.snapshot().catch(() => null) : null;
      return reply.code(up ? 200 : 503).send({ success: up, status: up ? 'ok' : 'degraded', redis: up ? 'up' : 'down', carrier, capacity: snapshot });
    },
  });
};
