import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { dropUnusedSchemas } from './openapi-components.js';
import { eventWebhooks } from '../events/event-openapi.js';
import { documentedSchema } from './openapi-responses.js';
import { withRequestContent } from './openapi-request-content.js';

export const OPENAPI_INFO = {
  title: 'Switchboard',
  description:
    'Schedules and queues phone calls: now, later, on a cron schedule or in bulk. Workers dial them through Twilio within the rate and concurrency limits.',
  version: '0.1.0',
};

/** The OpenAPI document, generated from the routes' zod schemas. */
export const swaggerPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: OPENAPI_INFO,
        components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'API_KEYS, or ADMIN_API_KEYS for admin operations' } } },
        security: [{ apiKey: [] }],
        // Built as plain JSON Schema from the events' zod schemas; the plugin's types want its own.
        webhooks: eventWebhooks() as never,
        tags: [
          { name: 'schedule', description: 'Place calls now, later, on a schedule or in bulk' },
          { name: 'jobs', description: 'One call job' },
          { name: 'queue', description: 'The call queue as a whole' },
          { name: 'recurring', description: 'Cron schedules' },
          { name: 'calls', description: 'Call history from the Supabase call log' },
          { name: 'capacity', description: 'Live-call capacity, the line of waiting callers, caller priorities' },
          { name: 'simulator', description: 'The simulated carrier: inbound callers, with no Twilio account' },
          { name: 'webhooks', description: 'Callbacks from Twilio, verified by signature' },
          { name: 'events', description: 'Signed events to CRM receivers (Standard Webhooks): subscriptions, deliveries, replay' },
          { name: 'console', description: 'What the operator console reads: its session, and the live state once or as a stream' },
          { name: 'do-not-call', description: 'Numbers and prefixes never dialed' },
          { name: 'contactability', description: 'Whether, when and why a number may be called' },
          { name: 'health', description: 'Liveness' },
        ],
      },
      transform: (input) => withRequestContent(input.route, jsonSchemaTransform({ ...input, schema: documentedSchema(input.route) ?? input.schema })),
      transformObject: (input) => dropUnusedSchemas(jsonSchemaTransformObject(input)),
    });
  },
  { name: 'swagger' },
);

/** The reference at /docs, rendered from the document above. */
export async function swaggerUiPlugin(app: FastifyInstance) {
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
