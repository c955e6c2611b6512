import { describe, expect } from 'vitest';
import { it, test } from './helpers/fixtures.js';
import { aCall, type Service } from './helpers/harness.js';

let service: Service;
test.beforeAll(({ fileService }) => {
  service = fileService;
});

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const oddValues: unknown[] = [
  null, true, 0, -1, 1e308, 1.5, '', ' ', '\u0000', '+', '+1234567890', '<Say>', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'x'.repeat(5000),
  [], [1, 2], {}, { nested: { deeper: [null] } }, '2025-11-20T10:00:00Z', '0 9 * * *', 'high', '__proto__',
];

const endpoints = [
  '/api/queue/schedule-call',
  '/api/queue/schedule-delayed-call',
  '/api/queue/schedule-recurring-call',
  '/api/queue/schedule-bulk-calls',
  '/api/queue/clean',
];
const fields = ['to', 'message', 'from', 'lead_id', 'priority', 'metadata', 'scheduleAt', 'delayMs', 'cronExpression', 'timezone', 'calls', 'grace', 'limit', 'status', 'constructor'];

describe('a fuzz of malformed bodies', () => {
  it('never gets a 5xx, always gets the error body, and never enqueues from a refused request', async () => {
    const next = random(20261120);
    const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
    for (let round = 0; round < 400; round++) {
      const body: Record<string, unknown> = next() < 0.5 ? aCall() : {};
      for (let i = 0; i < 1 + Math.floor(next() * 3); i++) body[pick(fields)] = pick(oddValues);
      const url = pick(endpoints);
      const before = await service.queue.count();
      const response = await service.app.inject({ method: 'POST', url, payload: body });
      expect(response.statusCode, `${url} ${JSON.stringify(body).slice(0, 300)}`).toBeLessThan(500);
      if (response.statusCode >= 400) {
        expect(response.json()).toMatchObject({ success: false, error: expect.any(String), message: expect.any(String) });
        expect(await service.queue.count()).toBe(before);
      }
    }
  });

  it.each([
    ['/api/queue/job/%00'],
    ['/api/queue/job/..%2F..%2Fetc'],
    [`/api/queue/job/${'9'.repeat(300)}`],
    ['/api/queue/waiting?start=ten'],
    ['/api/queue/waiting?end=-5'],
  ])('answers GET %s with a 4xx in the error shape', async (url) => {
    const response = await service.app.inject({ method: 'GET', url });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.json()).toMatchObject({ success: false });
  });
});
