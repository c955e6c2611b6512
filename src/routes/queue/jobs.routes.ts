import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { QueueAdminService } from '../../calls/queue-admin-service.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import { jobActionResponse, jobIdParams, jobResponse } from './queue.schemas.js';

const tags = ['jobs'];

/** One job: its status, cancelling it before it runs, retrying it after it failed. */
export const jobsRoutes: FastifyPluginAsyncZod<{ queueAdmin: QueueAdminService }> = async (app, { queueAdmin }) => {
  app.get('/job/:jobId', {
    schema: {
      operationId: 'getJob',
      summary: "A call job's state, attempts and call SID",
      tags,
      params: jobIdParams,
      response: { 200: jobResponse, 404: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => ({ success: true as const, ...(await queueAdmin.getJob(request.params.jobId)) }),
  });

  app.delete('/job/:jobId', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'cancelJob',
      summary: 'Cancel a call that is waiting or delayed',
      tags,
      params: jobIdParams,
      response: { 200: jobActionResponse, 404: errorBodySchema, 409: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      await queueAdmin.cancel(request.params.jobId);
      return { success: true as const, message: 'Call cancelled', jobId: request.params.jobId };
    },
  });

  app.post('/job/:jobId/retry', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'retryJob',
      summary: 'Queue a failed call again',
      tags,
      params: jobIdParams,
      response: { 200: jobActionResponse, 404: errorBodySchema, 409: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      await queueAdmin.retry(request.params.jobId);
      return { success: true as const, message: 'Call queued for retry', jobId: request.params.jobId };
    },
  });
};
