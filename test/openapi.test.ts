import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOpenApiDocument } from '../src/openapi-document.js';
import { startService, type Service } from './helpers/harness.js';

const published = parse(readFileSync('openapi.yaml', 'utf8')) as { paths: Record<string, Record<string, unknown>> };

describe('openapi.yaml', () => {
  it('is exactly what the routes declare (run `npm run openapi` after changing a route)', async () => {
    expect(await generateOpenApiDocument()).toEqual(published);
  });

  it('describes every endpoint: the outbound contract, call history, capacity and webhooks', () => {
    const operations = Object.entries(published.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
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
        'POST /webhooks/agent/end-of-call',
        'POST /simulator/inbound-calls',
        'GET /simulator/inbound-calls',
        'POST /simulator/queues/{queueSid}/members/{callSid}',
      ].sort(),
    );
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
