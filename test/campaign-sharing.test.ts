import { describe, expect } from 'vitest';
import { until } from './helpers/callbacks.js';
import { addContacts, campaignAction, createCampaign, numbers } from './helpers/campaigns.js';
import { it } from './helpers/fixtures.js';
import { aCall } from './helpers/harness.js';

/** Counted where the carrier sees them: the Twilio stand-in's call creations, by who was called. */
const dialsTo = (creates: Array<{ params: Record<string, string>; receivedAt: number }>, area: string, after = 0) =>
  creates.filter((entry) => entry.params.To!.startsWith(`+1${area}`) && entry.receivedAt > after).length;

describe('campaigns sharing the dial rate', () => {
  it('two campaigns weighted 3:1 get 75/25 of the dials under saturation; pausing one stops its dials on every worker within a second while the other and single calls go on', { timeout: 120_000 }, async ({ startTwilioService, twilio }) => {
    // 20 dials a second across two workers, far fewer than the contacts waiting.
    const service = await startTwilioService({ CALL_RATE_MAX: '20', CALL_RATE_WINDOW_MS: '1000', REDIAL_ON: 'none', CALL_WORKER_CONCURRENCY: '4' });
    const { app } = service;
    const heavy = await createCampaign(app, { name: 'heavy', rateShare: 3 });
    const light = await createCampaign(app, { name: 'light', rateShare: 1 });
    for (const [id, area] of [
      [heavy, '212'],
      [light, '303'],
    ] as const) {
      const contacts = numbers(area, 2_000).map((to) => ({ to }));
      for (let index = 0; index < contacts.length; index += 500) expect((await addContacts(app, id, contacts.slice(index, index + 500))).json().added).toBe(500);
    }
    await service.startWorker();
    await service.startWorker();
    await campaignAction(app, heavy, 'start');
    await campaignAction(app, light, 'start');

    // Past the first second or two (the hopper filled before both ran), over 400 dials.
    await until(async () => twilio.creates.length, (count) => count >= 40, 20_000);
    const from = twilio.creates.length;
    await until(async () => twilio.creates.length, (count) => count >= from + 400, 60_000);
    const window = twilio.creates.slice(from, from + 400);
    const heavyShare = dialsTo(window, '212') / window.length;
    expect(heavyShare).toBeGreaterThan(0.7);
    expect(heavyShare).toBeLessThan(0.8);

    // A single call placed now waits behind the contacts already fed (a second of dials), not behind the campaigns' lists.
    const single = (await app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ to: '+14045550100' }) })).json();
    const placedAt = Date.now();
    await until(async () => twilio.createsTo('+14045550100').length, (count) => count === 1, 5_000);
    expect(twilio.createsTo('+14045550100')[0]!.receivedAt - placedAt).toBeLessThan(1_500);
    expect(single.success).toBe(true);

    const paused = await campaignAction(app, heavy, 'pause');
    const pausedAt = Date.now();
    expect(paused.json().campaign.state).toBe('paused');
    await until(async () => dialsTo(twilio.creates, '303', pausedAt + 1_000), (count) => count >= 20, 10_000);
    expect(dialsTo(twilio.creates, '212', pausedAt + 1_000)).toBe(0);
    // With the heavy campaign paused, the light one has the whole rate.
    const lightAlone = twilio.creates.filter((entry) => entry.receivedAt > pausedAt + 1_000);
    expect(dialsTo(lightAlone, '303')).toBe(lightAlone.length - twilio.createsTo('+14045550100').filter((entry) => entry.receivedAt > pausedAt + 1_000).length);

    // Resumed, it dials again, and no contact of either is dialed twice.
    await campaignAction(app, heavy, 'resume');
    const resumedAt = Date.now();
    await until(async () => dialsTo(twilio.creates, '212', resumedAt), (count) => count >= 10, 10_000);
    const dialed = twilio.creates.map((entry) => entry.params.To);
    expect(new Set(dialed).size).toBe(dialed.length);
  });
});
