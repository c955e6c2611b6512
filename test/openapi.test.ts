import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApiDocument } from '../src/openapi-document.js';
import { EVENT_TYPES } from '../src/events/event-types.js';
import { startService, type Service } from './helpers/harness.js';

interface Operation {
  security?: unknown[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}
const published = parse(readFileSync('openapi.yaml', 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};
const operations = () => Object.entries(published.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })));

describe('openapi.yaml', () => {
  it('is exactly what the routes declare (run `npm run openapi` after changing a route)', async () => {
    expect(await generateOpenApiDocument()).toEqual(published);
  });

  it('describes every endpoint: the outbound contract, call history, capacity and webhooks', () => {
    expect(operations().map(({ name }) => name).sort()).toEqual(
      [
        'POST /api/queue/schedule-call',
        'POST /api/queue/schedule-delayed-call',
        'POST /api/queue/schedule-recurring-call',
        'POST /api/queue/schedule-bulk-calls',
        'GET /api/queue/job/{jobId}',
        'DELETE /api/queue/job/{jobId}',
        'POST /api/queue/job/{jobId}/retry',
        'GET /api/queue/stats',
        'GET /api/queue/waiting',
        'GET /api/queue/active',
        'GET /api/queue/failed',
        'GET /api/queue/completed',
        'GET /api/queue/delayed',
        'POST /api/queue/clean',
        'POST /api/queue/pause',
        'POST /api/queue/resume',
        'GET /api/queue/recurring',
        'DELETE /api/queue/recurring/{id}',
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'POST /webhooks/twilio/status',
        'GET /api/calls',
        'GET /api/capacity',
        'POST /api/capacity/reconcile',
        'GET /api/priority-numbers',
        'PUT /api/priority-numbers/{number}',
        'DELETE /api/priority-numbers/{number}',
        'POST /webhooks/twilio/voice',
        'POST /webhooks/twilio/wait',
        'POST /webhooks/twilio/callback',
        'POST /webhooks/twilio/queue-exit',
        'POST /webhooks/twilio/connect',
        'POST /webhooks/twilio/dial-ended',
        'POST /webhooks/twilio/outbound-answer',
        'POST /webhooks/twilio/opt-out',
        'GET /api/calls/context/{callSid}',
        'GET /simulator/agent/sessions',
        'GET /api/dnc',
        'GET /api/dnc/{number}',
        'PUT /api/dnc/{number}',
        'DELETE /api/dnc/{number}',
        'POST /api/dnc/import',
        'GET /api/contactability/{number}',
        'POST /api/contactability/preview',
        'POST /webhooks/agent/end-of-call',
        'POST /simulator/inbound-calls',
        'GET /simulator/inbound-calls',
        'POST /simulator/queues/{queueSid}/members/{callSid}',
        'POST /simulator/phone-calls',
        'POST /api/campaigns',
        'GET /api/campaigns',
        'GET /api/campaigns/{id}',
        'PATCH /api/campaigns/{id}',
        'DELETE /api/campaigns/{id}',
        'POST /api/campaigns/{id}/start',
        'POST /api/campaigns/{id}/pause',
        'POST /api/campaigns/{id}/resume',
        'POST /api/campaigns/{id}/cancel',
        'POST /api/campaigns/{id}/retry',
        'GET /api/campaigns/{id}/results.csv',
        'POST /api/campaigns/{id}/contacts',
        'POST /api/campaigns/{id}/contacts/csv',
        'GET /api/campaigns/{id}/imports/{importId}',
        'POST /api/webhooks',
        'GET /api/webhooks',
        'GET /api/webhooks/{id}',
        'PATCH /api/webhooks/{id}',
        'DELETE /api/webhooks/{id}',
        'POST /api/webhooks/{id}/rotate-secret',
        'GET /api/webhooks/{id}/deliveries',
        'POST /api/webhooks/{id}/replay',
        'GET /api/console/session',
        'GET /api/console/snapshot',
        'GET /api/console/stream',
      ].sort(),
    );
  });

  it('describes every event a subscription receives in its webhooks section, signed with the Standard Webhooks headers', () => {
    const webhooks = (published as unknown as { webhooks: Record<string, { post: { parameters: Array<{ name: string }>; requestBody: { content: Record<string, { schema: { required: string[] } }> } } }> }).webhooks;
    expect(Object.keys(webhooks).sort()).toEqual([...EVENT_TYPES].sort());
    for (const [type, { post }] of Object.entries(webhooks)) {
      expect([type, post.parameters.map((parameter) => parameter.name)]).toEqual([type, ['webhook-id', 'webhook-timestamp', 'webhook-signature']]);
      expect([type, post.requestBody.content['application/json']!.schema.required]).toEqual([type, ['id', 'type', 'timestamp', 'data']]);
    }
  });
});

describe('what openapi.yaml says of access and errors', () => {
  const open = ['GET /health', 'GET /ready'];
  const signed = (name: string) => name.includes(' /webhooks/') || name === 'POST /simulator/queues/{queueSid}/members/{callSid}' || name === 'POST /simulator/phone-calls';

  it('needs no key for health, readiness and the signed webhooks, and a Bearer key for everything else', () => {
    for (const { name, operation } of operations()) {
      expect([name, operation.security]).toEqual([name, open.includes(name) || signed(name) ? [] : undefined]);
    }
  });

  it('lists the errors each operation can give: 401 and 429 with a key, 403 for admin or a signature, 413 and 415 with a body, 500 and 503 everywhere', () => {
    for (const { name, operation } of operations()) {
      const statuses = Object.keys(operation.responses);
      expect([name, statuses]).toEqual([name, expect.arrayContaining(['500', '503'])]);
      if (!open.includes(name) && !signed(name)) expect([name, statuses]).toEqual([name, expect.arrayContaining(['401', '429'])]);
      if (signed(name)) expect([name, statuses]).toEqual([name, expect.arrayContaining(['403'])]);
      if (/^(POST|PUT) \/api\/queue\/schedule/.test(name)) expect([name, statuses]).toEqual([name, expect.arrayContaining(['400', '409', '413', '415', '422'])]);
    }
    for (const admin of ['POST /api/webhooks', 'GET /api/webhooks/{id}/deliveries', 'POST /api/queue/pause', 'DELETE /api/queue/job/{jobId}', 'POST /api/queue/clean', 'PUT /api/priority-numbers/{number}', 'POST /api/campaigns/{id}/pause', 'POST /api/campaigns/{id}/cancel', 'DELETE /api/campaigns/{id}']) {
      expect(Object.keys(published.paths[admin.split(' ')[1]!]![admin.split(' ')[0]!.toLowerCase()]!.responses)).toContain('403');
    }
    expect(Object.keys(published.paths['/api/queue/stats']!.get!.responses)).not.toContain('403');
  });

  it('declares TwiML as text/xml and metrics as text/plain', () => {
    expect(Object.keys(published.paths['/webhooks/twilio/voice']!.post!.responses['200']!.content!)).toEqual(['text/xml']);
    expect(Object.keys(published.paths['/metrics']!.get!.responses['200']!.content!)).toEqual(['text/plain']);
    expect(Object.keys(published.paths['/api/campaigns/{id}/results.csv']!.get!.responses['200']!.content!)).toEqual(['text/csv']);
  });

  it('publishes each schema once', () => {
    expect(Object.keys(published.components.schemas).filter((name) => name.endsWith('Input'))).toEqual([]);
  });
});

describe('/docs', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(() => service.stop());

  it('serves the API reference and its document', async () => {
    const page = await service.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const document = await service.app.inject({ method: 'GET', url: '/docs/json' });
    expect(document.json().paths).toEqual(JSON.parse(JSON.stringify(published.paths)));
  });
});
