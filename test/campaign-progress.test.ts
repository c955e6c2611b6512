import { createClient } from '@supabase/supabase-js';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { describe, expect } from 'vitest';
import { contactStateOf } from '../src/campaigns/campaign-progress.js';
import { CALL_LOG_QUEUE_NAME } from '../src/jobs/call-jobs.js';
import { until } from './helpers/callbacks.js';
import { addContacts, campaignAction, createCampaign, getCampaign, parseResults } from './helpers/campaigns.js';
import { it } from './helpers/fixtures.js';
import { supabaseEnv, type Service } from './helpers/harness.js';
import type { Supabase } from './helpers/supabase.js';

interface Row {
  job_id: string;
  attempt: number;
  contact_id: string;
  campaign_round: number;
  redial_number: number;
  version: number;
  status: string;
  reason: string | null;
  outcome: string | null;
  final: boolean;
  dialed_at: string | null;
  to_number: string;
}

/** Answered, busy (redialed once), no answer, failed, an invalid number, and a number put on the do-not-call list after it was added. */
const CONTACTS = ['+14155550111', '+14155550112', '+12125550113', '+14155559001', '+14155559002', '+14155559003', '+14155559004', '+14155550177'].map((to, index) => ({ to, contactId: `contact-${index}` }));

async function checker(service: Service, supabase: Supabase) {
  const client = createClient(supabase.url, supabase.serviceRoleKey, { auth: { persistSession: false }, realtime: { transport: WebSocket as never } });
  const connection = new Redis(service.config.redisUrl, { maxRetriesPerRequest: null });
  const outbox = new Queue(CALL_LOG_QUEUE_NAME, { connection, prefix: service.config.QUEUE_PREFIX });
  const rowsOf = async (campaignId: string): Promise<Row[]> => {
    const { data, error } = await client.from('call_logs').select('*').eq('campaign_id', campaignId);
    if (error) throw new Error(error.message);
    return data as Row[];
  };
  const order = (row: Row) => [row.campaign_round, row.redial_number, row.attempt, row.version];
  const later = (a: Row, b: Row) => {
    const [x, y] = [order(a), order(b)];
    for (let index = 0; index < x.length; index += 1) if (x[index] !== y[index]) return x[index]! > y[index]!;
    return false;
  };
  return {
    rowsOf,
    /**
     * The campaign's counts, and the same counts made from the call log's rows (each contact's
     * latest row; a dial for each row dialed), once the outbox has handed every row to Supabase.
     */
    async both(campaignId: string) {
      await until(() => outbox.getJobCounts('waiting', 'active', 'delayed', 'prioritized'), (counts) => Object.values(counts).every((count) => count === 0), 20_000);
      const { progress } = await getCampaign(service.app, campaignId);
      const fromApi: Record<string, number> = { contacts: progress.contacts, attempts: progress.attempts, pending: progress.pending, dialing: progress.dialing, live: progress.live, expired: progress.expired, cancelled: progress.cancelled };
      for (const [group, byKey] of [['deferred', progress.deferred.byReason], ['done', progress.done.byOutcome], ['blocked', progress.blocked.byReason]] as const) {
        for (const [key, count] of Object.entries(byKey as Record<string, number>)) fromApi[`${group}:${key}`] = count;
      }
      const rows = await rowsOf(campaignId);
      const latest = new Map<string, Row>();
      for (const row of rows) if (!latest.has(row.contact_id) || later(row, latest.get(row.contact_id)!)) latest.set(row.contact_id, row);
      const fromLog: Record<string, number> = { contacts: latest.size, attempts: rows.filter((row) => row.dialed_at !== null).length, pending: 0, dialing: 0, live: 0, expired: 0, cancelled: 0 };
      for (const row of latest.values()) {
        const state = contactStateOf(row);
        fromLog[state] = (fromLog[state] ?? 0) + 1;
      }
      return { fromApi, fromLog, latest };
    },
    close: async () => {
      await outbox.close();
      connection.disconnect();
    },
  };
}

describe('a campaign’s progress and its call log', () => {
  it('count the same contacts in the same states at every check: added, paused mid-way, completed, retried, cancelled', { timeout: 120_000 }, async ({ supabase, startService }) => {
    const service = await startService({ ...supabaseEnv(supabase), SIMULATED_TIME_SCALE: '0.01', CALL_RATE_MAX: '4', CALL_RATE_WINDOW_MS: '1000' });
    await service.startWorker();
    await service.startCallLogWorker();
    const check = await checker(service, supabase);
    try {
      const { app } = service;
      const id = await createCampaign(app, { redial: { busy: { max: 1, delayMs: 300 } } });
      expect((await addContacts(app, id, CONTACTS)).json().added).toBe(CONTACTS.length);
      await app.inject({ method: 'PUT', url: '/api/dnc/+14155550177', payload: { reason: 'asked' } });

      // Added, not started: every contact pending, in both.
      let { fromApi, fromLog } = await check.both(id);
      expect(fromApi).toEqual(fromLog);
      expect(fromApi).toMatchObject({ contacts: 8, pending: 8, attempts: 0 });

      // Paused after a few dials, once its calls in progress have ended.
      await campaignAction(app, id, 'start');
      await until(() => getCampaign(app, id), (campaign) => campaign.progress.attempts >= 3, 20_000);
      await campaignAction(app, id, 'pause');
      await until(() => getCampaign(app, id), (campaign) => campaign.progress.dialing + campaign.progress.live === 0, 20_000);
      ({ fromApi, fromLog } = await check.both(id));
      expect(fromApi).toEqual(fromLog);
      expect(fromApi.pending).toBeGreaterThan(0);

      // Resumed to its end.
      await campaignAction(app, id, 'resume');
      await until(() => getCampaign(app, id), (campaign) => campaign.state === 'completed', 30_000);
      const completed = await check.both(id);
      ({ fromApi, fromLog } = completed);
      expect(fromApi).toEqual(fromLog);
      expect(fromApi).toEqual({
        contacts: 8,
        // Busy twice (a redial), then one dial each for the rest but the blocked number.
        attempts: 8,
        pending: 0,
        dialing: 0,
        live: 0,
        expired: 0,
        cancelled: 0,
        'done:completed': 3,
        'done:busy': 1,
        'done:no-answer': 1,
        'done:failed': 2,
        'blocked:dnc': 1,
      });
      expect(completed.latest.get('contact-7')).toMatchObject({ status: 'blocked', reason: 'dnc', dialed_at: null });

      // Retrying the busy contacts dials exactly those: one more pass, with its own redial.
      const retried = await app.inject({ method: 'POST', url: `/api/campaigns/${id}/retry`, payload: { outcomes: ['busy'] } });
      expect(retried.json()).toEqual({ success: true, requeued: 1 });
      await until(() => getCampaign(app, id), (campaign) => campaign.state === 'completed' && campaign.progress.attempts === 10, 30_000);
      ({ fromApi, fromLog } = await check.both(id));
      expect(fromApi).toEqual(fromLog);
      const secondPass = (await check.rowsOf(id)).filter((row) => row.campaign_round === 1);
      expect(new Set(secondPass.map((row) => row.to_number))).toEqual(new Set(['+14155559001']));
      expect(secondPass.filter((row) => row.dialed_at !== null)).toHaveLength(2);

      const results = parseResults((await app.inject({ method: 'GET', url: `/api/campaigns/${id}/results.csv` })).body);
      expect(results.map((row) => row.contact_id).sort()).toEqual(CONTACTS.map((contact) => contact.contactId).sort());
      const busy = results.find((row) => row.contact_id === 'contact-3')!;
      expect(busy).toMatchObject({ state: 'done', outcome: 'busy', attempts: '4' });
      // Its dials' times are those of the first and the last of its dialing rows.
      const busyDials = (await check.rowsOf(id)).filter((row) => row.contact_id === 'contact-3' && row.dialed_at !== null).map((row) => Date.parse(row.dialed_at!));
      expect(Date.parse(busy.first_dialed_at!)).toBeGreaterThanOrEqual(Math.min(...busyDials));
      expect(Date.parse(busy.first_dialed_at!)).toBeLessThan(Math.min(...busyDials) + 1_000);
      expect(Date.parse(busy.last_dialed_at!)).toBeGreaterThanOrEqual(Math.max(...busyDials));
      expect(Date.parse(busy.last_dialed_at!)).toBeLessThan(Math.max(...busyDials) + 1_000);
      expect(results.find((row) => row.contact_id === 'contact-7')).toMatchObject({ state: 'blocked', reason: 'dnc', attempts: '0', first_dialed_at: '', last_dialed_at: '' });

      // Cancelled mid-way: what was not dialed is closed, what was stays in the history.
      const other = await createCampaign(app);
      await addContacts(app, other, Array.from({ length: 20 }, (_, index) => ({ to: `+1303555${String(1100 + index)}` })));
      await campaignAction(app, other, 'start');
      await until(() => getCampaign(app, other), (campaign) => campaign.progress.attempts >= 3, 20_000);
      expect((await campaignAction(app, other, 'cancel')).json().campaign.state).toBe('cancelled');
      await until(() => getCampaign(app, other), (campaign) => campaign.progress.dialing + campaign.progress.live === 0, 20_000);
      ({ fromApi, fromLog } = await check.both(other));
      expect(fromApi).toEqual(fromLog);
      expect(fromApi.cancelled).toBeGreaterThan(0);
      expect(fromApi.cancelled! + (fromApi['done:completed'] ?? 0)).toBe(20);
      expect(fromApi.attempts).toBe(fromApi['done:completed']);
    } finally {
      await check.close();
    }
  });
});
