import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { aCall, startService, type Service } from '../helpers/harness.js';
import { launchChromium, signIn } from './browser.js';

const READ_KEY = 'read-key-console-0123456789';
const ADMIN_KEY = 'admin-key-console-0123456789';

let service: Service;
let browser: Browser;

beforeAll(async () => {
  service = await startService({ API_KEYS: READ_KEY, ADMIN_API_KEYS: ADMIN_KEY, SIMULATED_TIME_SCALE: '0.05', REDIAL_ON: 'none', MAX_CONCURRENT_CALLS: '1', CALL_CONNECT_MODE: 'agent', CALLBACK_THRESHOLD_SECONDS: '3600' });
  await service.startWorker();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

const schedule = (body: Record<string, unknown>) =>
  service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: aCall(body) });

describe('the operator console in Chromium', () => {
  it('asks for a key, keeps a session in an HttpOnly SameSite=Strict cookie, and signs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${service.baseUrl}/console`);
    expect(page.url()).toBe(`${service.baseUrl}/console/login`);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('not one of this service');

    await signIn(page, service.baseUrl, READ_KEY);
    const cookie = (await context.cookies()).find((each) => each.name === 'switchboard_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookie.value).not.toContain(READ_KEY);
    expect(await page.getByText('Signed in with a read key').isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${service.baseUrl}/console/login`);
    await page.goto(`${service.baseUrl}/console`);
    expect(page.url()).toBe(`${service.baseUrl}/console/login`);
    await context.close();
  });

  it('updates by itself when a call completes and when a caller joins the line', async () => {
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const page = await context.newPage();
    await signIn(page, service.baseUrl, ADMIN_KEY);
    expect(await page.locator('#recent-empty').isVisible()).toBe(true);

    const scheduled = await schedule({ to: '+14155550101', connect: 'say' });
    expect(scheduled.statusCode).toBe(201);
    await page.locator('#recent tr', { hasText: '+14155550101' }).getByText('completed').waitFor({ timeout: 20_000 });

    // One slot: a caller holds it, the next one waits in line, with their place.
    const inbound = (from: string) => service.app.inject({ method: 'POST', url: '/simulator/inbound-calls', headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: { from, talkSeconds: 600 } });
    expect((await inbound('+14155550190')).statusCode).toBe(201);
    await page.locator('#live').filter({ hasText: '1' }).waitFor();
    expect((await inbound('+14155550191')).statusCode).toBe(201);
    const waiting = page.locator('#line tr', { hasText: '+14155550191' });
    await waiting.waitFor({ timeout: 20_000 });
    expect(await waiting.locator('td').first().textContent()).toBe('1');
    expect(await waiting.textContent()).toMatch(/about \d/);

    await page.screenshot({ path: 'docs/console-1920.png' });
    await page.setViewportSize({ width: 1024, height: 900 });
    await page.screenshot({ path: 'docs/console-1024.png', fullPage: true });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await context.close();
  });

  it('loads in under 200 KB, from this service alone, and the same session opens the queue internals for an admin only', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const origins = new Set<string>();
    let bytes = 0;
    page.on('response', async (response) => {
      origins.add(new URL(response.url()).origin);
      if (!response.url().includes('/api/console/stream')) bytes += (await response.body().catch(() => Buffer.alloc(0))).length;
    });
    await signIn(page, service.baseUrl, ADMIN_KEY);
    expect([...origins]).toEqual([service.baseUrl]);
    expect(bytes).toBeLessThan(200 * 1024);
    const board = await page.goto(`${service.baseUrl}/admin/queues`);
    expect(board!.status()).toBe(200);
    expect(await page.title()).toMatch(/Bull Dashboard/i);
    await context.close();

    const reader = await (await browser.newContext()).newPage();
    await signIn(reader, service.baseUrl, READ_KEY);
    expect((await reader.goto(`${service.baseUrl}/admin/queues`))!.status()).toBe(403);
    await reader.context().close();
  });

  it('pauses a campaign when an admin asks, and its dials stop', async () => {
    // Five dials a second, so the campaign is still dialing when it is paused.
    const paced = await startService({ API_KEYS: READ_KEY, ADMIN_API_KEYS: ADMIN_KEY, SIMULATED_TIME_SCALE: '0.05', REDIAL_ON: 'none', CALL_RATE_MAX: '5', CALL_RATE_WINDOW_MS: '1000' });
    onTestFinished(() => paced.stop());
    await paced.startWorker();
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    const created = await paced.app.inject({ method: 'POST', url: '/api/campaigns', headers: admin, payload: { name: 'Renewals', message: 'Hello', connect: 'say' } });
    const id = created.json().campaign.id as string;
    const contacts = Array.from({ length: 40 }, (_, index) => ({ to: `+1415555${3000 + index}` }));
    expect((await paced.app.inject({ method: 'POST', url: `/api/campaigns/${id}/contacts`, headers: admin, payload: { contacts } })).json().added).toBe(40);
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await signIn(page, paced.baseUrl, ADMIN_KEY);
    expect((await paced.app.inject({ method: 'POST', url: `/api/campaigns/${id}/start`, headers: admin })).statusCode).toBe(200);
    const row = page.locator('#campaigns tr', { hasText: 'Renewals' });
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByText('paused').waitFor();
    const attempts = async () => (await paced.app.inject({ method: 'GET', url: `/api/campaigns/${id}`, headers: admin })).json().campaign.progress.attempts as number;
    const atPause = await attempts();
    expect(atPause).toBeLessThan(40);
    // Workers stop the campaign's dials within a second; a little more than that, nothing more was dialed.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const settled = await attempts();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await attempts()).toBe(settled);
    await row.getByRole('button', { name: 'Resume' }).click();
    await row.getByText('running').waitFor();
    await context.close();
  });

  it('fills the gauge and the chart with a burst of calls, then drains', async () => {
    // Calls with the agent of about four seconds each, two at a time: the gauge is full for several snapshots.
    const burst = await startService({ API_KEYS: READ_KEY, ADMIN_API_KEYS: ADMIN_KEY, SIMULATED_TIME_SCALE: '0.5', REDIAL_ON: 'none', MAX_CONCURRENT_CALLS: '2', CALL_CONNECT_MODE: 'agent' });
    onTestFinished(() => burst.stop());
    await burst.startWorker();
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const page = await context.newPage();
    await signIn(page, burst.baseUrl, READ_KEY);
    const gauge = page.getByRole('meter', { name: 'Live calls against the cap' });
    expect(await gauge.getAttribute('aria-valuenow')).toBe('0');
    const numbers = Array.from({ length: 6 }, (_, index) => `+1415555${4100 + index}`);
    const scheduled = await burst.app.inject({ method: 'POST', url: '/api/queue/schedule-bulk-calls', headers: { authorization: `Bearer ${ADMIN_KEY}` }, payload: { calls: numbers.map((to) => aCall({ to })) } });
    expect(scheduled.statusCode).toBe(201);
    await page.locator('[role="meter"][aria-valuenow="2"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#live').textContent()).toBe('2');
    await page.locator('#recent tr').nth(numbers.length - 1).waitFor({ timeout: 45_000 });
    await page.locator('[role="meter"][aria-valuenow="0"]').waitFor({ timeout: 20_000 });
    // The chart holds this minute's dials and outcomes: uPlot drew them, and its legend names the outcome.
    expect(await page.locator('#chart canvas').count()).toBe(1);
    expect(await page.locator('#chart .u-legend').textContent()).toContain('ended completed');
    await context.close();
  });

  it('pauses and resumes the queue for an admin, and the workers follow', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await signIn(page, service.baseUrl, ADMIN_KEY);
    await page.getByRole('button', { name: 'Pause the queue' }).click();
    await page.locator('#paused:not([hidden])').waitFor();
    expect(await service.queue.isPaused()).toBe(true);

    const held = await schedule({ to: '+14155550102', connect: 'say' });
    const jobId = held.json().jobId as string;
    await page.locator('#waiting-calls tr', { hasText: '+14155550102' }).waitFor();
    expect(await (await service.queue.getJob(jobId))!.getState()).toMatch(/waiting|prioritized/);

    await page.getByRole('button', { name: 'Resume the queue' }).click();
    await page.locator('#recent tr', { hasText: '+14155550102' }).waitFor({ timeout: 20_000 });
    expect(await service.queue.isPaused()).toBe(false);
    await context.close();
  });

  it('shows a read key no admin control, and refuses its forged change and any change without the CSRF token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, service.baseUrl, READ_KEY);
    expect(await page.getByRole('button', { name: 'Pause the queue' }).isVisible()).toBe(false);
    expect(await page.locator('#dnc-section').isVisible()).toBe(false);

    // Every action the console offers, forged by the read key's page with its own valid CSRF token.
    const actions: Array<[string, string, object?]> = [
      ['POST', '/api/queue/pause'],
      ['POST', '/api/queue/resume'],
      ['POST', '/api/capacity/reconcile'],
      ['DELETE', '/api/queue/job/some-job'],
      ['POST', '/api/queue/job/some-job/retry'],
      ['POST', '/api/campaigns/some-campaign/pause'],
      ['POST', '/api/campaigns/some-campaign/resume'],
      ['PUT', '/api/dnc/%2B14155550177', { reason: 'forged' }],
    ];
    const forged = await page.evaluate(async (list) => {
      const { csrfToken } = (await (await fetch('/api/console/session')).json()) as { csrfToken: string };
      const statuses: number[] = [];
      for (const [method, path, body] of list) {
        const response = await fetch(path, { method, headers: { 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, ...(body && { body: JSON.stringify(body) }) });
        statuses.push(response.status);
      }
      return statuses;
    }, actions);
    expect(forged).toEqual(actions.map(() => 403));
    expect(await service.queue.isPaused()).toBe(false);
    expect((await service.app.inject({ method: 'GET', url: '/api/dnc/%2B14155550177', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).statusCode).toBe(404);

    const admin = await (await browser.newContext()).newPage();
    await signIn(admin, service.baseUrl, ADMIN_KEY);
    const withoutToken = await admin.evaluate(async (list) => {
      const statuses: number[] = [];
      for (const [method, path, body] of list) statuses.push((await fetch(path, { method, headers: { 'content-type': 'application/json' }, ...(body && { body: JSON.stringify(body) }) })).status);
      return statuses;
    }, actions);
    expect(withoutToken).toEqual(actions.map(() => 403));
    expect(await service.queue.isPaused()).toBe(false);
    await admin.context().close();
    await context.close();
  });
});
