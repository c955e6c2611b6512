import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idempotency, type IdempotencyOptions } from '../../plugins/idempotency.js';
import type { SchedulingService } from '../../calls/scheduling-service.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import { createCallSchemas, type CallSchemaLimits } from './call.schemas.js';
import { bulkScheduledResponse, recurringScheduledResponse, scheduledResponse } from './queue.schemas.js';

export interface ScheduleRoutesOptions {
  scheduling: SchedulingService;
  limits: CallSchemaLimits;
  /** Idempotency keys live in Redis. */
  idempotency: IdempotencyOptions;
}

const tags = ['schedule'];
const headers = z
  .object({ 'idempotency-key': z.string().max(255).optional().describe('Retries with the same key and body within 24 h schedule nothing new') })
  .loose();

/** The four ways to place a call: now, later, on a cron schedule, or many at once. */
export const scheduleRoutes: FastifyPluginAsyncZod<ScheduleRoutesOptions> = async (app, { scheduling, limits, idempotency: idempotencyOptions }) => {
  const schemas = createCallSchemas(limits);
  // A CRM that retries a request it never saw answered must not schedule the call twice.
  await idempotency(app, idempotencyOptions);

  app.post('/schedule-call', {
    schema: {
      operationId: 'scheduleCall',
      summary: 'Queue a call to be dialed as soon as a worker is free',
      tags,
      headers,
      body: schemas.call,
      response: { 201: scheduledResponse, 409: errorBodySchema, 422: errorBodySchema, ...commonErrors },
    },
    handler: async (request, reply) => {
      const scheduled = await scheduling.scheduleNow(request.body, { idempotencyKey: request.idempotencyKey });
      return reply.code(201).send({
        success: true,
        message: 'Call scheduled successfully',
        jobId: scheduled.jobId,
        status: 'scheduled',
        scheduledFor: scheduled.runAt.toISOString(),
        data: scheduled.data,
      });
    },
  });

  app.post('/schedule-delayed-call', {
    schema: {
      operationId: 'scheduleDelayedCall',
      summary: 'Queue a call for a later time (scheduleAt) or after a delay (delayMs)',
      tags,
      headers,
      body: schemas.delayedCall,
      response: { 201: scheduledResponse, 409: errorBodySchema, 422: errorBodySchema, ...commonErrors },
    },
    handler: async (request, reply) => {
      const { scheduleAt, delayMs, ...call } = request.body;
      const timing = scheduleAt !== undefined ? { scheduleAt } : { delayMs: delayMs! };
      const scheduled = await scheduling.scheduleDelayed(call, timing, { idempotencyKey: request.idempotencyKey });
      return reply.code(201).send({
        success: true,
        message: `Call scheduled for ${scheduled.runAt.toISOString()}`,
        jobId: scheduled.jobId,
        status: 'delayed',
        scheduledFor: scheduled.runAt.toISOString(),
        data: scheduled.data,
      });
    },
  });

  app.post('/schedule-recurring-call', {
    schema: {
      operationId: 'scheduleRecurringCall',
      summary: 'Call on a cron schedule until the schedule is deleted',
      tags,
      headers,
      body: schemas.recurringCall,
      response: { 201: recurringScheduledResponse, 409: errorBodySchema, 422: errorBodySchema, ...commonErrors },
    },
    handler: async (request, reply) => {
      const { cronExpression, timezone, ...call } = request.body;
      const schedule = await scheduling.scheduleRecurring(call, cronExpression, timezone);
      return reply.code(201).send({
        success: true,
        message: 'Recurring call scheduled successfully',
        jobId: schedule.jobId,
        recurringId: schedule.recurringId,
        status: 'recurring',
        cronExpression: schedule.cronExpression,
        timezone: schedule.timezone ?? null,
        nextRunAt: schedule.runAt.toISOString(),
        data: schedule.data,
      });
    },
  });

  app.post('/schedule-bulk-calls', {
    schema: {
      operationId: 'scheduleBulkCalls',
      summary: 'Queue many calls at once; all are accepted or none',
      tags,
      headers,
      body: schemas.bulkCalls,
      response: { 201: bulkScheduledResponse, 409: errorBodySchema, 422: errorBodySchema, ...commonErrors },
    },
    handler: async (request, reply) => {
      const scheduled = await scheduling.scheduleBulk(request.body.calls, { idempotencyKey: request.idempotencyKey });
      return reply.code(201).send({
        success: true,
        message: `${scheduled.length} calls scheduled successfully`,
        status: 'scheduled',
        count: scheduled.length,
        jobIds: scheduled.map((call) => call.jobId),
      });
    },
  });
};
