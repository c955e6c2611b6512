import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthScope } from '../src/plugins/auth.js';
import { aCall, startService, type Service } from './helpers/harness.js';
import { createRawClient, inBatches, spellingsOf } from './helpers/url-spellings.js';

const READ_KEY = 'read-key-0123456789';
const OTHER_READ_KEY = 'read-key-abcdefghij';
const ADMIN_KEY = 'admin-key-0123456789';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Bodies that a route would accept, so a refusal is the access rule's and not the validator's. */
const BODIES: Record<string, unknown> = {
  '/api/queue/schedule-call': aCall(),
  '/api/queue/schedule-delayed-call': aCall({ delayMs: 60_000 }),
  '/api/queue/schedule-recurring-call': aCall({ cronExpression: '0 9 * * *' }),
  '/api/queue/schedule-bulk-calls': { calls: [aCall()] },
  '/api/queue/clean': { grace: 0, status: 'delayed' },
  '/api/priority-numbers/:number': { priority: 'vip' },
  '/simulator/inbound-calls': { from: '+14155550101' },
  '/admin/queues/api/queues/:queueName/add': { name: 'call', data: aCall() },
};
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface Target {
  method: string;
  route: string;
  path: string;
  scope: AuthScope;
  body: unknown;
}

let service: Service;
let targets: Target[];
let client: ReturnType<typeof createRawClient>;

/** What an attack could have changed: jobs by state, pause, schedules, caller priorities. */
async function queueState() {
  const [counts, paused, schedulers, priorities] = await Promise.all([
    service.queue.getJobCounts(),
    service.queue.isPaused(),
    service.queue.getJobSchedulersCount(),
    service.app.inject({ method: 'GET', url: '/api/priority-numbers', headers: bearer(ADMIN_KEY) }).then((response) => response.json()),
  ]);
  return { counts, paused, schedulers, priorities };
}

beforeAll(async () => {
  service = await startService({ API_KEYS: `${READ_KEY},${OTHER_READ_KEY}`, ADMIN_API_KEYS: ADMIN_KEY });
  client = createRawClient(service.baseUrl);
  // Real things for the paths to name: a delayed call and a recurring schedule.
  const delayed = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-delayed-call', headers: bearer(ADMIN_KEY), payload: aCall({ delayMs: 3_600_000 }) });
  const recurring = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-recurring-call', headers: bearer(ADMIN_KEY), payload: aCall({ cronExpression: '0 9 * * *' }) });
  const params: Record<string, string> = {
    jobId: delayed.json().jobId,
    id: recurring.json().recurringId,
    schedulerId: recurring.json().recurringId,
    number: '+14155550123',
    queueName: 'calls',
    queueStatus: 'delayed',
    queueSid: 'QU0123456789abcdef0123456789abcdef',
    callSid: 'CA0123456789abcdef0123456789abcdef',
  };
  targets = service.app.routeAccess().map(({ method, url, scope }) => ({
    method,
    route: url,
    path: url.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x')).replace(/\*$/, 'x'),
    scope,
    body: WRITES.has(method) && method !== 'DELETE' ? (BODIES[url] ?? {}) : undefined,
  }));
});
afterAll(async () => {
  client?.close();
  await service?.stop();
});

const protectedTargets = () => targets.filter((target) => target.scope === 'key' || target.scope === 'admin');
const spelt = (list: Target[]) => list.flatMap((target) => spellingsOf(target.path).map((path) => ({ ...target, path })));
const succeeded = (status: number) => status >= 200 && status < 400;

describe('access follows the route that matched, however the URL is spelt', () => {
  it('walks every route of the app, each with a declared access', () => {
    const scopes = new Set(targets.map((target) => `${target.route} ${target.scope}`));
    expect(targets.length).toBeGreaterThan(100);
    expect(scopes).toContain('/api/queue/schedule-call key');
    expect(scopes).toContain('/api/queue/pause admin');
    expect(scopes).toContain('/admin/queues/api/queues/:queueName/pause admin');
    expect(scopes).toContain('/webhooks/twilio/status signed');
    expect(scopes).toContain('/health open');
  });

  it('answers no protected route, however spelt, without a key or with a wrong one', async () => {
    const before = await queueState();
    const attempts = spelt(protectedTargets()).flatMap((target) => [
      { ...target, headers: {} as Record<string, string> },
      { ...target, headers: bearer('not-a-key') },
      { ...target, headers: { authorization: `bearer ${READ_KEY}x` } },
    ]);
    const answers = await inBatches(attempts, 16, async (attempt) => ({ attempt, answer: await client.send(attempt.method, attempt.path, attempt.headers, attempt.body) }));
    const letThrough = answers.filter(({ answer }) => succeeded(answer.status)).map(({ attempt, answer }) => `${attempt.method} ${attempt.path} -> ${answer.status}`);
    expect(letThrough).toEqual([]);
    expect(new Set(answers.map(({ answer }) => answer.status))).toEqual(new Set([400, 401]));
    expect(await queueState()).toEqual(before);
  });

  it('refuses read keys every admin operation, however spelt', async () => {
    const before = await queueState();
    const attempts = spelt(protectedTargets().filter((target) => target.scope === 'admin'));
    const answers = await inBatches(attempts, 16, async (attempt) => ({ attempt, answer: await client.send(attempt.method, attempt.path, bearer(READ_KEY), attempt.body) }));
    const letThrough = answers.filter(({ answer }) => succeeded(answer.status)).map(({ attempt, answer }) => `${attempt.method} ${attempt.path} -> ${answer.status}`);
    expect(letThrough).toEqual([]);
    const canonical = answers.filter(({ attempt }) => attempt.path === attempt.route || !attempt.route.includes(':'));
    expect(canonical.some(({ answer }) => answer.status === 403)).toBe(true);
    expect(await queueState()).toEqual(before);
  });

  it('spellings the router decodes reach the route: the same answer as the plain path for the right key', async () => {
    const reads = protectedTargets().filter((target) => target.method === 'GET' && target.scope === 'key' && !target.route.includes(':'));
    for (const target of reads) {
      const plain = await client.send('GET', target.path, bearer(READ_KEY));
      const encoded = await client.send('GET', spellingsOf(target.path)[1]!, bearer(READ_KEY));
      expect(`${target.path} ${encoded.status}`).toBe(`${target.path} ${plain.status}`);
    }
    const admin = await client.send('PUT', '/%61dmin/queues/api/queues/calls/pause', bearer(READ_KEY), {});
    expect(admin.status).toBe(403);
    const job = targets.find((target) => target.route === '/api/queue/job/:jobId' && target.method === 'GET')!;
    const leaked = await client.send('GET', job.path.replace('/api/', '/%61pi/'), {});
    expect(leaked.status).toBe(401);
    expect(leaked.body).not.toContain('+14155550123');
    expect((await client.send('GET', job.path.replace('/api/', '/%61pi/'), bearer(READ_KEY))).body).toContain('+14155550123');
  });
});

describe('the rate limit counts every spelling', () => {
  let limited: Service;
  let limitedClient: ReturnType<typeof createRawClient>;
  beforeAll(async () => {
    limited = await startService({ API_KEYS: `${READ_KEY},${OTHER_READ_KEY}`, ADMIN_API_KEYS: ADMIN_KEY, API_RATE_LIMIT_MAX: '5', API_RATE_LIMIT_WINDOW_MS: '600000' });
    limitedClient = createRawClient(limited.baseUrl);
  });
  afterAll(async () => {
    limitedClient?.close();
    await limited?.stop();
  });

  it('a key at its limit gets nothing from any spelling of any route', async () => {
    for (let i = 0; i < 5; i += 1) expect((await limitedClient.send('GET', '/api/queue/stats', bearer(READ_KEY))).status).toBe(200);
    const reads = protectedTargets().filter((target) => target.scope === 'key' && target.method === 'GET');
    const attempts = spelt(reads);
    const answers = await inBatches(attempts, 16, async (attempt) => ({ attempt, answer: await limitedClient.send(attempt.method, attempt.path, bearer(READ_KEY)) }));
    const letThrough = answers.filter(({ answer }) => succeeded(answer.status)).map(({ attempt, answer }) => `${attempt.method} ${attempt.path} -> ${answer.status}`);
    expect(letThrough).toEqual([]);
    expect(answers.find(({ attempt }) => attempt.path === '/%61pi/queue/stats')?.answer.status).toBe(429);
  });

  it('spelt requests use up the limit like plain ones', async () => {
    const spellings = ['/%61pi/queue/stats', '/api/q%75eue/stats', '/api/%71ueue/stats', '/api/queue/%73tats', '/api/queue/stats?x=1'];
    for (const path of spellings) expect((await limitedClient.send('GET', path, bearer(OTHER_READ_KEY))).status).toBe(200);
    const next = await limitedClient.send('GET', '/api/queue/stats', bearer(OTHER_READ_KEY));
    expect(next.status).toBe(429);
    expect(JSON.parse(next.body)).toMatchObject({ success: false, error: 'RATE_LIMITED' });
  });
});
