import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect } from 'vitest';
import { it, test } from './helpers/fixtures.js';
import { aCall, nextJobs, type Service } from './helpers/harness.js';

interface Family {
  name: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string }>;
}

let service: Service;
test.override({ fileServiceEnv: { API_KEYS: 'reader', ADMIN_API_KEYS: 'admin' } });
test.beforeAll(({ fileService }) => {
  service = fileService;
});

const scrape = async (): Promise<Map<string, Family>> => {
  const response = await service.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer reader' } });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toContain('text/plain');
  const families = parsePrometheusTextFormat(response.body) as Family[];
  return new Map(families.map((family) => [family.name, family]));
};
const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
  Number(families.get(name)?.metrics.find((metric) => Object.entries(labels).every(([key, expected]) => metric.labels?.[key] === expected))?.value ?? 0);

describe('/metrics', () => {
  it('parses as Prometheus text and moves when calls flow', async () => {
    const before = await scrape();
    for (const name of ['switchboard_http_request_duration_seconds', 'switchboard_jobs', 'switchboard_capacity_slots', 'switchboard_process_cpu_user_seconds_total']) {
      expect(before.has(name), name).toBe(true);
    }
    const worker = await service.startWorker();
    const done = nextJobs(worker, 'completed', 2);
    for (let i = 0; i < 2; i++) {
      await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', headers: { authorization: 'Bearer reader' }, payload: aCall() });
    }
    await done;
    await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', headers: { authorization: 'Bearer reader' }, payload: aCall({ to: '+1234567890' }) });

    const after = await scrape();
    expect(value(after, 'switchboard_dials_total', { outcome: 'placed' }) - value(before, 'switchboard_dials_total', { outcome: 'placed' })).toBe(2);
    expect(value(after, 'switchboard_jobs', { state: 'completed' })).toBe(2);
    expect(value(after, 'switchboard_api_errors_total', { code: 'VALIDATION_ERROR' }) - value(before, 'switchboard_api_errors_total', { code: 'VALIDATION_ERROR' })).toBe(1);
    expect(value(after, 'switchboard_capacity_slots', { kind: 'max' })).toBe(1000);
    expect(after.get('switchboard_dial_latency_seconds')!.type).toBe('HISTOGRAM');
  });

  it('needs an API key', async () => {
    expect((await service.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
  });
});
