import http from 'node:http';
import { describe, expect } from 'vitest';
import { it } from './helpers/fixtures.js';
import type { Service } from './helpers/harness.js';

const READ_KEY = 'read-key-session-0123456789';
const ADMIN_KEY = 'admin-key-session-0123456789';
const SECRET = 'a-console-session-secret-of-32-characters-or-more';
const keys = { API_KEYS: READ_KEY, ADMIN_API_KEYS: ADMIN_KEY, CONSOLE_SESSION_SECRET: SECRET };

const cookiesOf = (setCookie: string | string[] | undefined) => [setCookie ?? []].flat();
const cookieHeader = (setCookie: string | string[] | undefined) => cookiesOf(setCookie).map((cookie) => cookie.split(';')[0]).join('; ');

/** Signs in through the login form as a browser would: its CSRF token from the page, the key in the form. */
async function signIn(service: Service, key: string) {
  const page = await service.app.inject({ method: 'GET', url: '/console/login' });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const jar = cookieHeader(page.headers['set-cookie']);
  const answer = await service.app.inject({ method: 'POST', url: '/console/login', headers: { cookie: jar, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ _csrf: token, apiKey: key }).toString() });
  return { answer, cookie: `${jar}; ${cookieHeader(answer.headers['set-cookie'])}` };
}

describe('console sessions', () => {
  it('turn a key given in the login form into a signed HttpOnly SameSite=Strict cookie that never holds the key', async ({ startService }) => {
    const service = await startService(keys);
    const noToken = await service.app.inject({ method: 'POST', url: '/console/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `apiKey=${ADMIN_KEY}` });
    expect(noToken.statusCode).toBe(403);
    expect((await signIn(service, 'wrong-key')).answer.statusCode).toBe(401);

    const { answer, cookie } = await signIn(service, ADMIN_KEY);
    expect(answer.statusCode).toBe(303);
    expect(answer.headers.location).toBe('/console');
    const session = cookiesOf(answer.headers['set-cookie']).find((each) => each.startsWith('switchboard_session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/Max-Age=43200/);
    expect(session).not.toContain(ADMIN_KEY);
    const me = await service.app.inject({ method: 'GET', url: '/api/console/session', headers: { cookie } });
    expect(me.json()).toMatchObject({ role: 'admin', csrfToken: expect.any(String) });
    // A cookie changed by hand fails its signature.
    const forged = cookie.replace(/switchboard_session=[^;]+/, (value) => value.replace('%22', '%20'));
    expect((await service.app.inject({ method: 'GET', url: '/api/console/session', headers: { cookie: forged } })).statusCode).toBe(401);
  });

  it('allow an address ten sign-in attempts a minute, then answer 429', async ({ startService }) => {
    const service = await startService(keys);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt += 1) statuses.push((await signIn(service, `guess-${attempt}`)).answer.statusCode);
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    expect((await signIn(service, ADMIN_KEY)).answer.statusCode).toBe(429);
  });

  it('outlive a restart with CONSOLE_SESSION_SECRET, and end when their key is no longer configured', async ({ startService }) => {
    const first = await startService(keys);
    const { cookie } = await signIn(first, READ_KEY);
    const sameKeys = await startService(keys);
    expect((await sameKeys.app.inject({ method: 'GET', url: '/api/console/session', headers: { cookie } })).json()).toMatchObject({ role: 'read' });
    const keyRemoved = await startService({ ...keys, API_KEYS: 'another-read-key-0123456789' });
    expect((await keyRemoved.app.inject({ method: 'GET', url: '/api/console/session', headers: { cookie } })).statusCode).toBe(401);
  });
});

describe('the queue internals (Bull Board) through a console session', () => {
  it('open for an admin; their changes are taken from this very origin only', async ({ startService }) => {
    const service = await startService(keys);
    const { cookie } = await signIn(service, ADMIN_KEY);
    expect((await service.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie } })).statusCode).toBe(200);
    const pause = (origin: string) => service.app.inject({ method: 'PUT', url: '/admin/queues/api/queues/calls/pause', headers: { cookie, origin, host: new URL(service.baseUrl).host } });
    expect((await pause('https://elsewhere.example.com')).statusCode).toBe(403);
    expect(await service.queue.isPaused()).toBe(false);
    expect((await pause(service.baseUrl)).statusCode).toBe(200);
    expect(await service.queue.isPaused()).toBe(true);
    const reader = await signIn(service, READ_KEY);
    expect((await service.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie: reader.cookie } })).statusCode).toBe(403);
  });
});

describe('the console stream', () => {
  it('sends a snapshot at once, and ends when the API closes, so an open console never holds up a shutdown', async ({ startService }) => {
    const service = await startService(keys);
    const firstEvent = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      http
        .get(`${service.baseUrl}/api/console/stream`, { headers: { authorization: `Bearer ${READ_KEY}` } }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => {
            text += chunk.toString('utf8');
            if (text.includes('event: snapshot')) resolve({ status: response.statusCode ?? 0, text });
          });
          response.on('error', reject);
        })
        .on('error', reject);
    });
    expect(firstEvent.status).toBe(200);
    const data = JSON.parse(/data: (.*)\n/.exec(firstEvent.text.slice(firstEvent.text.indexOf('event: snapshot')))![1]!);
    expect(Object.keys(data).sort()).toEqual(['activity', 'at', 'campaigns', 'capacity', 'failedCalls', 'line', 'queue', 'recentCalls', 'waitingCalls']);
    expect(data.activity.minutes).toHaveLength(180);
    const started = Date.now();
    await service.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
