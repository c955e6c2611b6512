import { describe, expect } from 'vitest';
import { until } from './helpers/callbacks.js';
import { addContacts, campaignAction, createCampaign, getCampaign, numbers } from './helpers/campaigns.js';
import { it } from './helpers/fixtures.js';
import { aCall } from './helpers/harness.js';
import type { RecordedRequest } from './helpers/twilio-stand-in.js';

/** Counted where the carrier sees them: the Twilio stand-in's call creations, by who was called. */
const dialsTo = (creates: RecordedRequest[], area: string, after = 0) => creates.filter((entry) => String(entry.params.To).startsWith(`+1${area}`) && entry.receivedAt > after).length;

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

describe('campaigns sharing live-call slots', () => {
  it('two agent campaigns weighted 3:1 hold about 3:1 of the slots while both want more than there are, and never more than the cap', { timeout: 60_000 }, async ({ startService }) => {
    // Eight slots; each answered call holds one for about four seconds (half of a person's eight).
    const service = await startService({ MAX_CONCURRENT_CALLS: '8', SIMULATED_TIME_SCALE: '0.5', REDIAL_ON: 'none', CALL_WORKER_CONCURRENCY: '16' });
    const { app } = service;
    const heavy = await createCampaign(app, { name: 'heavy', connect: 'agent', slotShare: 3 });
    const light = await createCampaign(app, { name: 'light', connect: 'agent', slotShare: 1 });
    expect((await addContacts(app, heavy, numbers('212', 200).map((to) => ({ to })))).json().added).toBe(200);
    expect((await addContacts(app, light, numbers('303', 200).map((to) => ({ to })))).json().added).toBe(200);
    await service.startWorker();
    await campaignAction(app, heavy, 'start');
    await campaignAction(app, light, 'start');

    const inCall = (campaign: { progress: { live: number; dialing: number } }) => campaign.progress.live + campaign.progress.dialing;
    await until(async () => inCall(await getCampaign(app, heavy)) + inCall(await getCampaign(app, light)), (total) => total >= 8, 10_000);
    const samples: Array<[number, number]> = [];
    for (let sample = 0; sample < 40; sample += 1) {
      const [a, b] = await Promise.all([getCampaign(app, heavy), getCampaign(app, light)]);
      samples.push([inCall(a), inCall(b)]);
      const slots = (await app.inject({ method: 'GET', url: '/api/capacity' })).json();
      expect(slots.capacity.inUse).toBeLessThanOrEqual(8);
      // Sampling the shares as they stand over six seconds: there is no event to wait for.
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const heavyTotal = samples.reduce((sum, [a]) => sum + a, 0);
    const lightTotal = samples.reduce((sum, [, b]) => sum + b, 0);
    const share = heavyTotal / (heavyTotal + lightTotal);
    expect(share, JSON.stringify(samples)).toBeGreaterThan(0.65);
    expect(share, JSON.stringify(samples)).toBeLessThan(0.85);
    expect(Math.max(...samples.map(([, b]) => b)), JSON.stringify(samples)).toBeLessThanOrEqual(3);
  });
});
