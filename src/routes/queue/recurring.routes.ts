import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { QueueAdminService } from '../../calls/queue-admin-service.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import { recurringIdParams, recurringListResponse, recurringRemovedResponse } from './queue.schemas.js';

const tags = ['recurring'];

export const recurringRoutes: FastifyPluginAsyncZod<{ queueAdmin: QueueAdminService }> = async (app, { queueAdmin }) => {
  app.get('/recurring', {
    schema: { operationId: 'listRecurring', summary: 'Every recurring call schedule', tags, response: { 200: recurringListResponse, ...commonErrors } },
    handler: async () => ({ success: true as const, schedules: await queueAdmin.listRecurring() }),
  });

  app.delete('/recurring/:id', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'deleteRecurring',
      summary: 'Stop a recurring schedule and remove its runs that have not started',
      tags,
      params: recurringIdParams,
      response: { 200: recurringRemovedResponse, 404: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      const { removedRuns } = await queueAdmin.removeRecurring(request.params.id);
      return { success: true as const, message: 'Recurring schedule deleted', recurringId: request.params.id, removedRuns };
    },
  });
};
