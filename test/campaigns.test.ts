import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { createCampaignFeeder } from '../src/campaigns/campaign-feeder.js';
import { contactJobId } from '../src/campaigns/campaign-keys.js';
import { createCampaignStore } from '../src/campaigns/campaign-store.js';
import { callJobPolicy } from '../src/jobs/call-jobs.js';
import { until } from './helpers/callbacks.js';
import { addContacts, campaignAction, createCampaign, getCampaign, importCsv, numbers, parseResults } from './helpers/campaigns.js';
import { it } from './helpers/fixtures.js';
import { silentLogger } from './helpers/harness.js';

const SIMULATED_FAST = { SIMULATED_TIME_SCALE: '0.01', REDIAL_ON: 'none' };

describe('a campaign’s life', () => {
  it('is created as a draft, changed, started, paused, resumed and cancelled; an action its state forbids is a 409, an unknown campaign a 404', async ({ startService }) => {
    const { app } = await startService();
    const id = await createCampaign(app, { priority: 'high', callerIds: ['+14155550001', '+14155550002'], rateShare: 3, redial: { busy: { max: 2, delayMs: 300_000 } } });
    expect(await getCampaign(app, id)).toMatchObject({ id, state: 'draft', priority: 'high', rateShare: 3, slotShare: 1, connect: 'say', redial: { busy: { max: 2, delayMs: 300_000 } } });

    const patched = await app.inject({ method: 'PATCH', url: `/api/campaigns/${id}`, payload: { name: 'Renewals, December', slotShare: 2 } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().campaign).toMatchObject({ name: 'Renewals, December', slotShare: 2, rateShare: 3, priority: 'high' });

    const conflicts: Array<[string, number]> = [];
    const act = async (action: 'start' | 'pause' | 'resume' | 'cancel') => {
      const response = await campaignAction(app, id, action);
      conflicts.push([action, response.statusCode]);
      return response;
    };
    await act('pause');
    await act('resume');
    expect((await act('start')).json().campaign.state).toBe('running');
    await act('start');
    expect((await act('pause')).json().campaign.state).toBe('paused');
    expect((await app.inject({ method: 'DELETE', url: `/api/campaigns/${id}` })).statusCode).toBe(409);
    expect((await act('resume')).json().campaign.state).toBe('running');
    expect((await act('cancel')).json().campaign.state).toBe('cancelled');
    await act('cancel');
    await act('resume');
    expect(conflicts).toEqual([
      ['pause', 409],
      ['resume', 409],
      ['start', 200],
      ['start', 409],
      ['pause', 200],
      ['resume', 200],
      ['cancel', 200],
      ['cancel', 409],
      ['resume', 409],
    ]);
    const refused = await app.inject({ method: 'PATCH', url: `/api/campaigns/${id}`, payload: { name: 'x' } });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ success: false, error: 'CAMPAIGN_STATE_CONFLICT' });
    expect((await addContacts(app, id, [{ to: '+14155550123' }])).statusCode).toBe(409);
    expect((await app.inject({ method: 'DELETE', url: `/api/campaigns/${id}` })).statusCode).toBe(200);

    for (const [method, url] of [
      ['GET', '/api/campaigns/nope'],
      ['POST', '/api/campaigns/nope/start'],
      ['GET', `/api/campaigns/${id}`],
      ['GET', `/api/campaigns/${id}/results.csv`],
    ] as const) {
      const response = await app.inject({ method, url });
      expect(response.statusCode, url).toBe(404);
      expect(response.json().error).toBe('CAMPAIGN_NOT_FOUND');
    }
    expect((await addContacts(app, 'nope', [{ to: '+14155550123' }])).statusCode).toBe(404);
  });

  it('refuses a bad definition with a 400 naming the field, and creates nothing', async ({ startService }) => {
    const { app } = await startService();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ message: undefined }, 'message'],
      [{ endAt: '2020-01-01T00:00:00Z' }, 'endAt'],
      [{ startAt: '2031-01-02T00:00:00Z', endAt: '2031-01-01T00:00:00Z' }, 'endAt'],
      [{ from: '+14155550001', callerIds: ['+14155550002'] }, 'callerIds'],
      [{ callerIds: ['not a number'] }, 'callerIds[0]'],
      [{ rateShare: 0 }, 'rateShare'],
      [{ redial: { busy: { max: 20, delayMs: 1 } } }, 'redial.busy.max'],
      [{ redial: { sometimes: { max: 1, delayMs: 1 } } }, 'redial'],
      [{ callingWindow: 'Mon-Fri 25:00-26:00' }, 'callingWindow'],
      [{ connect: 'agent', agentTarget: 'not a target' }, 'agentTarget'],
      [{ variables: { 'first name': 'x' } }, 'variables.first name'],
      [{ surprise: true }, '(body)'],
    ];
    for (const [overrides, field] of cases) {
      const response = await app.inject({ method: 'POST', url: '/api/campaigns', payload: { name: 'x', message: 'Hi', ...overrides } });
      expect(response.statusCode, JSON.stringify(overrides)).toBe(400);
      expect(response.json().details.map((detail: { field: string }) => detail.field), JSON.stringify(overrides)).toContain(field);
    }
    expect((await app.inject({ method: 'GET', url: '/api/campaigns' })).json()).toMatchObject({ campaigns: [], total: 0 });
  });

  it('lists campaigns newest first, a page at a time', async ({ startService }) => {
    const { app } = await startService();
    const ids = [];
    for (let index = 0; index < 5; index += 1) ids.push(await createCampaign(app, { name: `c${index}` }));
    const page = (await app.inject({ method: 'GET', url: '/api/campaigns?offset=1&limit=2' })).json();
    expect(page.total).toBe(5);
    expect(page.campaigns.map((campaign: { id: string }) => campaign.id)).toEqual([ids[3], ids[2]]);
  });
});

describe('contacts', () => {
  it('a chunk sent twice adds nothing; one invalid contact refuses the chunk, naming it; duplicates and do-not-call numbers are reported', async ({ startService }) => {
    const { app } = await startService();
    await app.inject({ method: 'PUT', url: '/api/dnc/+14155550199', payload: {} });
    const id = await createCampaign(app);
    const chunk = [
      { to: '+14155550101', contactId: 'a', lead_id: 'L1', variables: { first_name: 'Ada' } },
      { to: '+14155550102', contactId: 'b' },
      { to: '+14155550101' },
      { to: '+14155550102', contactId: 'b' },
      { to: '+14155550199' },
    ];
    const first = await addContacts(app, id, chunk);
    expect(first.json()).toEqual({ success: true, added: 3, rejected: [{ index: 3, reason: 'duplicate' }, { index: 4, reason: 'dnc' }] });
    const again = await addContacts(app, id, chunk);
    expect(again.json().added).toBe(0);

    const invalid = await addContacts(app, id, [{ to: '+14155550103' }, { to: '12' }]);
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().details[0].field).toBe('contacts[1].to');
    expect((await getCampaign(app, id)).progress).toMatchObject({ contacts: 3, pending: 3 });
  });

  it('100 chunks each sent twice make exactly one job per contact once the campaign runs', { timeout: 60_000 }, async ({ startService }) => {
    const service = await startService({ ...SIMULATED_FAST, CAMPAIGN_HOPPER_SIZE: '5000' });
    const { app } = service;
    const id = await createCampaign(app);
    const all = numbers('415', 2_000);
    const chunks = Array.from({ length: 100 }, (_, index) => all.slice(index * 20, (index + 1) * 20).map((to, offset) => ({ to, contactId: `c-${index * 20 + offset}` })));
    const added = await Promise.all([...chunks, ...chunks].map(async (chunk) => (await addContacts(app, id, chunk)).json().added as number));
    expect(added.reduce((sum, count) => sum + count, 0)).toBe(2_000);
    await service.queue.pause();
    await campaignAction(app, id, 'start');
    await service.startWorker();
    await until(() => service.queue.getJobCounts('waiting', 'prioritized'), (counts) => Object.values(counts).reduce((sum, count) => sum + count, 0) >= 2_000, 20_000);
    const counts = await service.queue.getJobCounts();
    expect(Object.values(counts).reduce((sum, count) => sum + count, 0)).toBe(2_000);
    // Each job's id is the one the contact's key makes (the feeder's Lua and the service agree).
    const ids = (await service.queue.getJobs(['prioritized', 'wait'], 0, -1)).map((job) => job.id);
    expect(new Set(ids)).toEqual(new Set(all.map((_, index) => contactJobId(id, `c-${index}`, 0))));
  });
});

describe('CSV import', () => {
  const CSV = [
    'phone,first_name,crm_id,company',
    '+1 415 555 0111,Ann,L-1,Acme',
    'not a number,Bob,L-2,Acme',
    ',Cy,L-3,Acme',
    '+14155550111,Dup,L-4,Acme',
    '+14155550199,Dnc,L-5,Acme',
    '+14155550112,Extra,L-6,Acme,one too many',
    '+14155550113,Eve,L-7,',
  ].join('\n');

  it('imports the good rows, names each bad line and why, and counts both; a dry run adds nothing', async ({ startService }) => {
    const { app } = await startService();
    await app.inject({ method: 'PUT', url: '/api/dnc/+14155550199', payload: {} });
    const id = await createCampaign(app);
    const query = { numberColumn: 'phone', leadIdColumn: 'crm_id', variableColumns: 'first_name,company' };

    const dry = await importCsv(app, id, CSV, { ...query, dryRun: 'true' });
    expect(dry.statusCode).toBe(200);
    expect(dry.json().import).toMatchObject({ dryRun: true, accepted: 2, rejected: 5 });
    expect((await getCampaign(app, id)).progress.contacts).toBe(0);

    const real = await importCsv(app, id, CSV, { ...query, importId: 'december' });
    expect(real.json().import).toMatchObject({
      importId: 'december',
      status: 'completed',
      accepted: 2,
      rejected: 5,
      rejections: [
        { line: 3, reason: 'invalid-number' },
        { line: 4, reason: 'missing-number' },
        { line: 5, reason: 'duplicate' },
        { line: 6, reason: 'dnc' },
        { line: 7, reason: 'malformed' },
      ],
    });
    expect(dry.json().import.rejections).toEqual(real.json().import.rejections);
    expect((await app.inject({ method: 'GET', url: `/api/campaigns/${id}/imports/december` })).json().import).toMatchObject({ status: 'completed', accepted: 2, line: 8 });
    const results = parseResults((await app.inject({ method: 'GET', url: `/api/campaigns/${id}/results.csv` })).body);
    expect(results.map((row) => [row.number, row.lead_id, row.state])).toEqual(
      expect.arrayContaining([
        ['+14155550111', 'L-1', 'pending'],
        ['+14155550113', 'L-7', 'pending'],
      ]),
    );
    expect(results).toHaveLength(2);
    // The same upload again (the same import id) is the import already made.
    expect((await importCsv(app, id, CSV, { ...query, importId: 'december' })).json().import.accepted).toBe(2);
    expect((await getCampaign(app, id)).progress.contacts).toBe(2);
  });

  it('refuses an upload with a line longer than a mebibyte with a 400 saying so, holding none of it', async ({ startService }) => {
    const { app } = await startService();
    const id = await createCampaign(app);
    const response = await importCsv(app, id, `number,name\n+14155550101,a\n${'y'.repeat(3 * 1024 * 1024)},b\n+14155550102,b\n`, { importId: 'long' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'INVALID_CSV', message: expect.stringContaining('runs past 1048576 bytes') });
    // Sent as one piece, the upload was refused before its header was read: no import, no contact.
    expect((await app.inject({ method: 'GET', url: `/api/campaigns/${id}/imports/long` })).statusCode).toBe(404);
    expect((await getCampaign(app, id)).progress.contacts).toBe(0);
  });

  it('refuses an upload whose header lacks a mapped column, or that is not CSV, importing nothing', async ({ startService }) => {
    const { app } = await startService();
    const id = await createCampaign(app);
    const missing = await importCsv(app, id, CSV, { numberColumn: 'mobile' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'INVALID_CSV', message: expect.stringContaining('"mobile"') });
    const json = await app.inject({ method: 'POST', url: `/api/campaigns/${id}/contacts/csv`, payload: { contacts: [] } });
    expect(json.statusCode).toBe(415);
    expect((await getCampaign(app, id)).progress.contacts).toBe(0);
  });
});

describe('a campaign’s calls handled one by one', () => {
  it('a call cancelled by hand closes its contact, and the campaign completes without it', { timeout: 30_000 }, async ({ startService }) => {
    const service = await startService(SIMULATED_FAST);
    const { app } = service;
    const id = await createCampaign(app);
    await addContacts(app, id, numbers('415', 3).map((to) => ({ to })));
    await service.queue.pause();
    await service.startWorker();
    await campaignAction(app, id, 'start');
    const waiting = await until(() => service.queue.getJobs(['prioritized', 'wait']), (jobs) => jobs.length === 3, 10_000);
    const cancelled = waiting.find((job) => job.data.to === numbers('415', 1)[0])!;
    expect((await app.inject({ method: 'DELETE', url: `/api/queue/job/${cancelled.id}` })).statusCode).toBe(200);
    await service.queue.resume();
    const done = await until(() => getCampaign(app, id), (campaign) => campaign.state === 'completed', 20_000);
    expect(done.progress).toMatchObject({ contacts: 3, cancelled: 1, done: { total: 2, byOutcome: { completed: 2 } }, attempts: 2 });
  });

  it('contacts taken by a feeder that died before adding their jobs are added by the next, once each', async ({ startService }) => {
    const service = await startService();
    const { app } = service;
    const id = await createCampaign(app);
    await addContacts(app, id, numbers('415', 5).map((to) => ({ to })));
    await campaignAction(app, id, 'start');
    const redis = new Redis(service.config.redisUrl);
    try {
      const parts = { redis, prefix: service.config.QUEUE_PREFIX, policy: callJobPolicy(service.config), callLog: { scheduled: async () => {} } as never, campaigns: createCampaignStore(redis, service.config.QUEUE_PREFIX), expireRest: async () => {}, logger: silentLogger };
      const options = { hopperSize: 10, maxConcurrentCalls: 10, completeGraceMs: 3_000, staleFeedingMs: 200 };
      // The connection drops as the first feeder adds its jobs: the contacts are taken, no job is made.
      const dying = createCampaignFeeder({ ...parts, callQueue: { addBulk: async () => Promise.reject(new Error('connection lost')) } as never }, options);
      await expect(dying.feedOnce()).rejects.toThrow('connection lost');
      expect(await service.queue.count()).toBe(0);
      const next = createCampaignFeeder({ ...parts, callQueue: service.queue }, options);
      await until(async () => (await next.feedOnce(), service.queue.count()), (count) => count === 5, 5_000);
      await next.feedOnce();
      const jobs = await service.queue.getJobs(['prioritized', 'wait']);
      expect(jobs.map((job) => job.data.to).sort()).toEqual(numbers('415', 5));
    } finally {
      redis.disconnect();
    }
  });
});

describe('the campaign’s policy, contact by contact', () => {
  it('each contact’s call carries the campaign’s policy: its message with the contact’s variables, a caller id from the pool, its lead, priority, window and end, and the campaign’s id', async ({ startService }) => {
    const service = await startService();
    const { app } = service;
    const endAt = new Date(Date.now() + 3_600_000).toISOString();
    const id = await createCampaign(app, {
      message: 'Hello {{first_name}} from {{company}}',
      variables: { company: 'Acme' },
      callerIds: ['+14155550001', '+14155550002'],
      priority: 'high',
      callingWindow: 'Mon-Sun 00:00-24:00',
      frequencyCap: '2/24h',
      endAt,
    });
    await addContacts(app, id, [
      { to: '+14155550101', contactId: 'c1', lead_id: 'L1', variables: { first_name: 'Ada' } },
      { to: '+14155550102', contactId: 'c2', variables: { first_name: 'Grace', company: 'Navy' } },
    ]);
    await service.queue.pause();
    await service.startWorker();
    await campaignAction(app, id, 'start');
    const jobs = await until(() => service.queue.getJobs(['prioritized', 'wait']), (found) => found.length === 2, 10_000);
    const byContact = Object.fromEntries(jobs.map((job) => [job.data.contactId, job]));
    expect(byContact.c1!.data).toMatchObject({ to: '+14155550101', message: 'Hello Ada from Acme', lead_id: 'L1', priority: 'high', campaignId: id, contactId: 'c1', campaignRound: 0, notAfter: endAt, frequencyCap: '2/24h', metadata: { variables: { first_name: 'Ada', company: 'Acme' } } });
    expect(byContact.c2!.data).toMatchObject({ message: 'Hello Grace from Navy', metadata: { variables: { company: 'Navy' } } });
    expect(new Set(jobs.map((job) => job.data.from))).toEqual(new Set(['+14155550001', '+14155550002']));
    expect(byContact.c1!.opts.priority).toBe(1);
  });

  it('dials nothing before startAt, takes contacts appended while it runs, and at endAt expires what is left and completes', { timeout: 60_000 }, async ({ startService }) => {
    const service = await startService({ ...SIMULATED_FAST, CALL_RATE_MAX: '4', CALL_RATE_WINDOW_MS: '1000' });
    const { app } = service;
    const startAt = new Date(Date.now() + 2_000).toISOString();
    const endAt = new Date(Date.now() + 5_000).toISOString();
    const id = await createCampaign(app, { startAt, endAt });
    await addContacts(app, id, numbers('415', 10).map((to) => ({ to })));
    await service.startWorker();
    await campaignAction(app, id, 'start');
    const started = await until(() => getCampaign(app, id), (campaign) => campaign.progress.attempts > 0, 10_000);
    expect(started.state).toBe('running');
    expect((await addContacts(app, id, numbers('415', 10, 10).map((to) => ({ to })))).json().added).toBe(10);
    const ended = await until(() => getCampaign(app, id), (campaign) => campaign.state === 'completed', 30_000);
    // Four dials a second for three seconds: most of the twenty contacts were never reached.
    expect(ended.progress.expired).toBeGreaterThan(0);
    expect(ended.progress.expired + ended.progress.done.total).toBe(20);
    expect(ended.progress.attempts).toBeLessThanOrEqual(14);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(`switchboard_campaign_dials_total{campaign="${id}",outcome="placed"} ${ended.progress.attempts}`);
    const dialed = await service.queue.getJobs(['completed']);
    expect(dialed).toHaveLength(ended.progress.attempts);
    expect(Math.min(...dialed.map((job) => job.processedOn!))).toBeGreaterThanOrEqual(Date.parse(startAt));
  });
});
