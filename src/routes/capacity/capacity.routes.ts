import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PriorityNumbers } from '../../capacity/priority-numbers.js';
import { AppError } from '../../errors.js';
import type { CapacityService } from '../../capacity/capacity-service.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import { isoTimeSchema, phoneNumberSchema } from '../shared/common.schemas.js';

const isoTime = isoTimeSchema;
export const capacitySnapshotSchema = z.object({
  max: z.number().int(),
  inUse: z.number().int(),
  free: z.number().int(),
  waiting: z.number().int().describe('Inbound callers in line, callbacks included'),
  callbacks: z.number().int().describe('Callers in line who asked to be called back'),
  averageHandleSeconds: z.number().nullable().describe('Rolling average of the last 100 calls'),
  estimatedWaitSeconds: z.number().int().describe('What a caller arriving now would wait'),
});

const capacityResponse = z.object({
  success: z.literal(true),
  capacity: capacitySnapshotSchema,
  holders: z.array(
    z.object({
      holder: z.string(),
      kind: z.enum(['inbound', 'outbound', 'callback']),
      callSid: z.string().optional(),
      jobId: z.string().optional(),
      since: isoTime,
      expiresAt: isoTime,
    }),
  ),
  recentlyServed: z
    .array(z.object({ callSid: z.string(), callback: z.boolean(), at: isoTime }))
    .describe('The last 100 waiting callers given a slot, most recent first'),
});
const numberParams = z.object({
  number: phoneNumberSchema,
});
const priorityList = z.object({
  success: z.literal(true),
  numbers: z.array(z.object({ number: z.string(), priority: z.enum(['vip', 'low']), source: z.enum(['api', 'config']) })),
});

/** Live-call capacity: who holds the slots, a repair on demand, and which callers go first or last. */
export const capacityRoutes: FastifyPluginAsyncZod<{ capacity: CapacityService; priorities: PriorityNumbers }> = async (app, { capacity, priorities }) => {
  app.get('/capacity', {
    schema: { operationId: 'getCapacity', summary: 'Slots in use and free, callers waiting, and who holds each slot', tags: ['capacity'], response: { 200: capacityResponse, ...commonErrors } },
    handler: async () => ({
      success: true as const,
      capacity: await capacity.snapshot(),
      holders: await capacity.holders(),
      recentlyServed: await capacity.recentlyServed(),
    }),
  });

  app.post('/capacity/reconcile', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'reconcileCapacity',
      summary: "Repair slot drift now: free slots whose calls ended, renew live ones, finish interrupted dispatches",
      tags: ['capacity'],
      response: { 200: z.object({ success: z.literal(true), released: z.array(z.string()), renewed: z.number().int(), redispatched: z.number().int() }), ...commonErrors },
    },
    handler: async () => ({ success: true as const, ...(await capacity.reconcile()) }),
  });

  app.get('/priority-numbers', {
    schema: { operationId: 'listPriorityNumbers', summary: 'Callers served first (vip) or last (low)', tags: ['capacity'], response: { 200: priorityList, ...commonErrors } },
    handler: async () => ({ success: true as const, numbers: await priorities.list() }),
  });

  app.put('/priority-numbers/:number', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'setPriorityNumber',
      summary: 'Serve a caller first (vip) or last (low) when they wait',
      tags: ['capacity'],
      params: numberParams,
      body: z.strictObject({ priority: z.enum(['vip', 'low']) }),
      response: { 200: z.object({ success: z.literal(true), number: z.string(), priority: z.enum(['vip', 'low']) }), ...commonErrors },
    },
    handler: async (request) => {
      await priorities.set(request.params.number, request.body.priority);
      return { success: true as const, number: request.params.number, priority: request.body.priority };
    },
  });

  app.delete('/priority-numbers/:number', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'removePriorityNumber',
      summary: 'Serve a caller in normal order again',
      tags: ['capacity'],
      params: numberParams,
      response: { 200: z.object({ success: z.literal(true), number: z.string() }), 404: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      if (!(await priorities.remove(request.params.number))) {
        throw new AppError(404, 'NUMBER_NOT_FOUND', `${request.params.number} has no priority set through the API`);
      }
      return { success: true as const, number: request.params.number };
    },
  });
};
