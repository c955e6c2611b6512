import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { WebhookService } from '../../events/webhook-service.js';
import { commonErrors, errorBodySchema } from '../shared/error.schemas.js';
import {
  createWebhookBody,
  deliveriesQuery,
  deliveriesResponse,
  replayBody,
  replayResponse,
  updateWebhookBody,
  webhookIdParams,
  webhookResponse,
  webhookSchema,
  webhookWithSecretResponse,
} from './webhooks.schemas.js';

const tags = ['events'];
const notFound = { 404: errorBodySchema };

/** Subscriptions to events: where they go, which, their secrets, deliveries and replays. Admin keys only. */
export const webhookRoutes: FastifyPluginAsyncZod<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  app.post('/webhooks', {
    schema: {
      operationId: 'createWebhook',
      summary: 'Subscribe a receiver to events; the answer holds its signing secret, shown once',
      tags,
      body: createWebhookBody,
      response: { 201: webhookWithSecretResponse, ...commonErrors },
    },
    handler: async (request, reply) => {
      const { url, eventTypes, campaignId, description, enabled } = request.body;
      const created = await webhooks.create({ url, eventTypes: eventTypes ?? null, campaignId: campaignId ?? null, description: description ?? null, ...(enabled !== undefined && { enabled }) });
      return reply.code(201).send({ success: true as const, webhook: created.subscription, secret: created.secret });
    },
  });

  app.get('/webhooks', {
    schema: { operationId: 'listWebhooks', summary: 'Every subscription, with whether it is failing and why it was disabled', tags, response: { 200: z.object({ success: z.literal(true), webhooks: z.array(webhookSchema) }), ...commonErrors } },
    handler: async () => ({ success: true as const, webhooks: await webhooks.list() }),
  });

  app.get('/webhooks/:id', {
    schema: { operationId: 'getWebhook', summary: 'One subscription', tags, params: webhookIdParams, response: { 200: webhookResponse, ...notFound, ...commonErrors } },
    handler: async (request) => ({ success: true as const, webhook: await webhooks.get(request.params.id) }),
  });

  app.patch('/webhooks/:id', {
    schema: {
      operationId: 'updateWebhook',
      summary: 'Change a subscription\'s url, filters or description, or enable it again',
      tags,
      params: webhookIdParams,
      body: updateWebhookBody,
      response: { 200: webhookResponse, ...notFound, 409: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => ({ success: true as const, webhook: await webhooks.update(request.params.id, request.body) }),
  });

  app.delete('/webhooks/:id', {
    schema: {
      operationId: 'deleteWebhook',
      summary: 'Remove a subscription and the deliveries still queued for it',
      tags,
      params: webhookIdParams,
      response: { 200: z.object({ success: z.literal(true), message: z.string() }), ...notFound, 409: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      await webhooks.remove(request.params.id);
      return { success: true as const, message: `Subscription ${request.params.id} removed` };
    },
  });

  app.post('/webhooks/:id/rotate-secret', {
    schema: {
      operationId: 'rotateWebhookSecret',
      summary: 'A new signing secret, shown once; the old one still signs beside it for 24 hours',
      tags,
      params: webhookIdParams,
      response: { 200: webhookWithSecretResponse, ...notFound, 409: errorBodySchema, ...commonErrors },
    },
    handler: async (request) => {
      const rotated = await webhooks.rotateSecret(request.params.id);
      return { success: true as const, webhook: rotated.subscription, secret: rotated.secret };
    },
  });

  app.get('/webhooks/:id/deliveries', {
    schema: {
      operationId: 'listWebhookDeliveries',
      summary: 'Delivery attempts, newest first: status code, latency, error, and whether it will be retried',
      tags,
      params: webhookIdParams,
      querystring: deliveriesQuery,
      response: { 200: deliveriesResponse, ...notFound, ...commonErrors },
    },
    handler: async (request) => {
      const { eventId, result, limit } = request.query;
      return { success: true as const, deliveries: await webhooks.deliveries(request.params.id, { limit, ...(eventId && { eventId }), ...(result && { result }) }) };
    },
  });

  app.post('/webhooks/:id/replay', {
    schema: {
      operationId: 'replayWebhookEvents',
      summary: 'Send kept events again (same ids), by id or by the time range they happened in, in their order',
      tags,
      params: webhookIdParams,
      body: replayBody,
      response: { 202: replayResponse, ...notFound, ...commonErrors },
    },
    handler: async (request, reply) => reply.code(202).send({ success: true as const, ...(await webhooks.replay(request.params.id, request.body)) }),
  });
};
