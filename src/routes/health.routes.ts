import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CapacityService } from '../capacity/capacity-service.js';
import { capacitySnapshotSchema } from './capacity/capacity.routes.js';

const healthResponse = z.object({
  success: z.boolean(),
  status: z.enum(['ok', 'degraded']),
  redis: z.enum(['up', 'down']),
  carrier: z.string(),
  capacity: capacitySnapshotSchema.nullable().describe('Null while Redis is unreachable'),
});

export interface HealthRoutesOptions {
  redisTakesWrites: () => Promise<boolean>;
  /** Workers with a heartbeat in the last few seconds. */
  liveWorkers: () => Promise<number>;
  carrier: string;
  capacity: CapacityService;
}

const readyResponse = z.object({
  success: z.boolean(),
  ready: z.boolean(),
  redis: z.enum(['up', 'down']),
  workers: z.number().int().describe('Workers seen in the last 15 seconds'),
});

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, { redisTakesWrites, liveWorkers, carrier, capacity }) => {
  app.get('/ready', {
    schema: {
      operationId: 'getReadiness',
      summary: 'Ready to take calls: Redis answers and at least one worker is alive (503 otherwise)',
      tags: ['health'],
      response: { 200: readyResponse, 503: readyResponse },
    },
    handler: async (_request, reply) => {
      const up = await redisTakesWrites();
      const workers = up ? await liveWorkers().catch(() => 0) : 0;
      const ready = up && workers > 0;
      return reply.code(ready ? 200 : 503).send({ success: ready, ready, redis: up ? 'up' : 'down', workers });
    },
  });

  app.get('/health', {
    schema: {
      operationId: 'getHealth',
      summary: 'Whether the API can reach Redis, and live-call capacity: slots, callers waiting, wait estimate',
      tags: ['health'],
      response: { 200: healthResponse, 503: healthResponse },
    },
    handler: async (_request, reply) => {
      const up = await redisTakesWrites();
      const snapshot = up ? await capacity.snapshot().catch(() => null) : null;
      return reply.code(up ? 200 : 503).send({ success: up, status: up ? 'ok' : 'degraded', redis: up ? 'up' : 'down', carrier, capacity: snapshot });
    },
  });
};
