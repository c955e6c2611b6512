import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { CapacityService } from '../capacity/capacity-service.js';
import type { QueueAdminService } from '../calls/queue-admin-service.js';
import { processMetrics } from '../metrics.js';

/** Prometheus text: this process's counters and histograms, plus queue and capacity gauges read from Redis. */
export const metricsRoutes: FastifyPluginAsync<{ queueAdmin: QueueAdminService; capacity: CapacityService }> = async (app, { queueAdmin, capacity }) => {
  const metrics = processMetrics();
  const schema = {
    operationId: 'getMetrics',
    summary: "Prometheus metrics: this process's requests, dials and errors, jobs by state and live-call capacity",
    tags: ['health'],
    response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
  };
  app.get('/metrics', { schema }, async (_request, reply) => {
    const [{ stats }, slots] = await Promise.all([queueAdmin.stats(), capacity.snapshot()]);
    for (const [state, count] of Object.entries(stats)) if (state !== 'total') metrics.jobs.set({ state }, count);
    metrics.capacity.set({ kind: 'max' }, slots.max);
    metrics.capacity.set({ kind: 'in_use' }, slots.inUse);
    metrics.capacity.set({ kind: 'waiting' }, slots.waiting);
    metrics.capacity.set({ kind: 'callbacks' }, slots.callbacks);
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
