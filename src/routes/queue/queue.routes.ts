import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { QueueAdminService } from '../../calls/queue-admin-service.js';
import { JOB_STATES } from '../../calls/job-view.js';
import { commonErrors } from '../shared/error.schemas.js';
import { cleanBody, cleanResponse, listQuery, listResponse, pauseResponse, statsResponse } from './queue.schemas.js';

const tags = ['queue'];
const capitalized = (word: string) => word[0]!.toUpperCase() + word.slice(1);

/** The queue as a whole: counts, listings by state, cleaning, pause and resume. */
export const queueRoutes: FastifyPluginAsyncZod<{ queueAdmin: QueueAdminService }> = async (app, { queueAdmin }) => {
  app.get('/stats', {
    schema: { operationId: 'getQueueStats', summary: 'Job counts by state', tags, response: { 200: statsResponse, ...commonErrors } },
    handler: async () => ({ success: true as const, ...(await queueAdmin.stats()) }),
  });

  for (const state of JOB_STATES) {
    app.get(`/${state}`, {
      schema: {
        operationId: `list${capitalized(state)}Jobs`,
        summary: `${capitalized(state)} jobs, from start to end inclusive`,
        tags,
        querystring: listQuery,
        response: { 200: listResponse, ...commonErrors },
      },
      handler: async (request) => {
        const { start, end } = request.query;
        const { jobs, total } = await queueAdmin.list(state, start, end);
        return { success: true as const, state, start, end, total, jobs };
      },
    });
  }

  app.post('/clean', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'cleanQueue',
      summary: 'Remove old jobs: finished ones by default, or those of one state',
      tags,
      body: cleanBody,
      response: { 200: cleanResponse, ...commonErrors },
    },
    handler: async (request) => {
      const { grace, limit, status } = request.body;
      const cleaned = await queueAdmin.clean(grace, limit, status);
      const total = Object.values(cleaned).reduce((sum, count) => sum + count, 0);
      return { success: true as const, message: `Removed ${total} jobs`, cleaned, total };
    },
  });

  app.post('/pause', {
    config: { auth: 'admin' },
    schema: { operationId: 'pauseQueue', summary: 'Stop every worker from starting new calls', tags, response: { 200: pauseResponse, ...commonErrors } },
    handler: async () => {
      await queueAdmin.pause();
      return { success: true as const, message: 'Queue paused', paused: true };
    },
  });

  app.post('/resume', {
    config: { auth: 'admin' },
    schema: { operationId: 'resumeQueue', summary: 'Let workers start calls again', tags, response: { 200: pauseResponse, ...commonErrors } },
    handler: async () => {
      await queueAdmin.resume();
      return { success: true as const, message: 'Queue resumed', paused: false };
    },
  });
};
