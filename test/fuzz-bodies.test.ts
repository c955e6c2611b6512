import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { it, test } from './helpers/fixtures.js';
import { aCall, type Service } from './helpers/harness.js';
import { sendTwilioWebhook } from './helpers/callbacks.js';

let service: Service;
test.beforeAll(({ fileService }) => {
  service = fileService;
});

/** JSON text of an object nested `depth` levels deep, objects and arrays taking turns (built as text: no stack to overflow). */
const nestedText = (depth: number, leaf = '1') => {
  let text = leaf;
  for (let level = 1; level < depth; level += 1) text = level % 2 ? `[${text}]` : `{"a":${text}}`;
  return `{"a":${text}}`;
};

/** Hostile values, as JSON text so that values nested thousands of levels deep can be sent. */
const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.anything({ maxDepth: 4, withBigInt: false, withBoxedValues: false }).map((value) => JSON.stringify(value) ?? 'null'),
  fc.jsonValue({ maxDepth: 6 }).map((value) => JSON.stringify(value)),
  fc.integer({ min: 6, max: 6_000 }).map((depth) => nestedText(depth)),
  fc.constantFrom('__proto__', 'constructor', '', '\u0000', '+', '<Say>x</Say>', 'x'.repeat(70_000), '9'.repeat(400)).map((value) => JSON.stringify(value)),
  fc.constantFrom('-0', '1e308', '-1e308', '0.1e-400', 'null', 'true', '[]', '{}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}'),
  fc.integer({ min: 201, max: 400 }).map((keys) => JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i])))),
);

const callFields = [
  'to', 'message', 'from', 'lead_id', 'priority', 'metadata', 'machineDetection', 'timeout', 'record', 'redial', 'scheduleAt', 'delayMs', 'cronExpression', 'timezone',
  'connect', 'agentTarget', 'streamUrl', 'answeringMachine',
  'recipientTimezone', 'callingWindow', 'blackoutDates', 'frequencyCap', 'minGapMinutes', 'notAfter',
];

/** JSON text of a body close to a valid one with one to three fields made hostile, or hostile as a whole. */
const nearlyValid = (valid: Record<string, unknown>, fields: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.array(fc.tuple(fc.constantFrom(...fields, '__proto__', 'unknownField'), hostile), { minLength: 1, maxLength: 3 }).map((changes) => {
      const entries = new Map(Object.entries(valid).map(([field, value]) => [field, JSON.stringify(value)]));
      for (const [field, text] of changes) entries.set(field, text);
      return `{${[...entries].map(([field, text]) => `${JSON.stringify(field)}:${text}`).join(',')}}`;
    }),
    hostile,
  );

const endpoints: Array<{ method: 'POST' | 'PUT'; url: string; body: fc.Arbitrary<string> }> = [
  { method: 'POST', url: '/api/queue/schedule-call', body: nearlyValid(aCall(), callFields) },
  {
    method: 'POST',
    url: '/api/queue/schedule-call',
    body: nearlyValid(aCall({ connect: 'stream', streamUrl: 'wss://agent.example.com/s', answeringMachine: { onMachine: 'voicemail', voicemailMessage: 'Call back' } }), callFields),
  },
  { method: 'POST', url: '/api/queue/schedule-delayed-call', body: nearlyValid(aCall({ delayMs: 60_000 }), callFields) },
  { method: 'POST', url: '/api/queue/schedule-recurring-call', body: nearlyValid(aCall({ cronExpression: '0 9 * * *' }), callFields) },
  {
    method: 'POST',
    url: '/api/queue/schedule-bulk-calls',
    body: fc.oneof(nearlyValid({ calls: [aCall()] }, ['calls']), fc.array(nearlyValid(aCall(), callFields), { minLength: 1, maxLength: 3 }).map((calls) => `{"calls":[${calls.join(',')}]}`)),
  },
  { method: 'POST', url: '/api/queue/clean', body: nearlyValid({ grace: 3_600_000, limit: 10, status: 'failed' }, ['grace', 'limit', 'status']) },
  { method: 'PUT', url: '/api/priority-numbers/+14155550199', body: nearlyValid({ priority: 'vip' }, ['priority']) },
  { method: 'POST', url: '/simulator/inbound-calls', body: nearlyValid({ from: '+14155550101' }, ['from', 'talkSeconds', 'acceptsCallback', 'patienceSeconds']) },
  { method: 'POST', url: '/api/queue/pause', body: hostile },
  {
    method: 'POST',
    url: '/api/queue/schedule-call',
    body: nearlyValid(aCall({ recipientTimezone: 'America/Chicago', callingWindow: 'Mon-Fri 09:00-20:00,Sat 10:00-18:00', blackoutDates: ['2030-12-25'], frequencyCap: '3/24h', minGapMinutes: 60, notAfter: '2031-01-01T00:00:00Z' }), callFields),
  },
  { method: 'PUT', url: '/api/dnc/+14155550199', body: nearlyValid({ reason: 'asked', expiresAt: '2031-01-01T00:00:00Z' }, ['reason', 'expiresAt']) },
  { method: 'PUT', url: '/api/dnc/+1415*', body: nearlyValid({ reason: 'area' }, ['reason', 'expiresAt']) },
  { method: 'POST', url: '/api/dnc/import', body: nearlyValid({ entries: [{ number: '+14155550199', reason: 'x' }], source: 'crm' }, ['entries', 'source']) },
  { method: 'POST', url: '/api/contactability/preview', body: nearlyValid({ numbers: ['+14155550101'], calls: [aCall()], at: '2030-06-02T16:00:00Z' }, ['numbers', 'calls', 'at']) },
];

const notJson = fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('{', '[[[[', '{"to":', `{"metadata":${'{"a":'.repeat(20_000)}`, '"x"', '1e999', "{'to':1}", '{"to":"+14155550123",}'));

describe('bad bodies, generated', () => {
  it.each(endpoints)('$method $url: never a 5xx, always the error shape, nothing enqueued when refused', async ({ method, url, body }) => {
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const before = await service.queue.getJobCounts();
        const response = await service.app.inject({ method, url, payload, headers: { 'content-type': 'application/json' } });
        expect(response.statusCode).toBeLessThan(500);
        if (response.statusCode >= 400) {
          expect(response.json()).toMatchObject({ success: false, error: expect.any(String), message: expect.any(String) });
          expect(await service.queue.getJobCounts()).toEqual(before);
        }
      }),
      { numRuns: 400, seed: 20261129 },
    );
  });

  it.each(endpoints.slice(0, 4))('$url: bytes that are not JSON are a 400', async ({ url }) => {
    await fc.assert(
      fc.asyncProperty(notJson, async (text) => {
        const before = await service.queue.count();
        const response = await service.app.inject({ method: 'POST', url, payload: text, headers: { 'content-type': 'application/json' } });
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(await service.queue.count()).toBe(before);
      }),
      { numRuns: 200, seed: 20261129 },
    );
  });
});

describe('the answer webhook and the context endpoint, generated', () => {
  const formValue = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('human', 'machine_start', 'machine_end_beep', 'fax', 'unknown', '', '<Hangup/>', '\u0000', 'x'.repeat(5_000)));

  it('a signed answer for any job id and any parameters: never a 5xx, and nothing is queued', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), fc.dictionary(fc.constantFrom('CallSid', 'AnsweredBy', 'CallStatus', 'MachineDetectionDuration', 'junk'), formValue), async (jobId, params) => {
        const before = await service.queue.getJobCounts();
        const path = `/webhooks/twilio/outbound-answer?jobId=${encodeURIComponent(jobId)}`;
        const response = await sendTwilioWebhook(service, path, params);
        expect(response.statusCode).toBeLessThan(500);
        expect(await service.queue.getJobCounts()).toEqual(before);
      }),
      { numRuns: 200, seed: 20261205 },
    );
  });

  it('any CallSid asked for context: 404 or 400, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 200 }), async (callSid) => {
        const response = await service.app.inject({ method: 'GET', url: `/api/calls/context/${encodeURIComponent(callSid)}` });
        expect([400, 404]).toContain(response.statusCode);
      }),
      { numRuns: 200, seed: 20261205 },
    );
  });
});

describe('contactability and do-not-call inputs, generated', () => {
  const text = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('Mon-Fri 09:00-20:00', 'Fri-Mon 20:00-09:00', 'Mon 10:00-09:00', 'Sun 00:00-24:00', '0/24h', '3/0h', '3/24h', '+1415*', '+*', '*', '+0', '1e9', 'Mars/Olympus', 'america/new_york', '2027-02-30'));

  it('any number, prefix or rule in the path or query: never a 5xx, always the error shape on a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.dictionary(fc.constantFrom('at', 'recipientTimezone', 'callingWindow', 'frequencyCap', 'minGapMinutes', 'notAfter', 'junk'), text), async (number, query) => {
        const search = new URLSearchParams(query).toString();
        for (const url of [`/api/contactability/${encodeURIComponent(number)}?${search}`, `/api/dnc/${encodeURIComponent(number)}`]) {
          const response = await service.app.inject({ method: 'GET', url });
          expect(response.statusCode).toBeLessThan(500);
          if (response.statusCode >= 400) expect(response.json()).toMatchObject({ success: false, error: expect.any(String) });
        }
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });

  it('any CSV upload: never a 5xx, and every line either imported or reported', async () => {
    const csvLine = fc.array(fc.oneof(text, fc.constantFrom('"', '""', ',', '\r', '+14155550100')), { maxLength: 4 }).map((cells) => cells.join(','));
    await fc.assert(
      fc.asyncProperty(fc.array(csvLine, { maxLength: 20 }), async (lines) => {
        const response = await service.app.inject({ method: 'POST', url: '/api/dnc/import', payload: ['number,reason', ...lines].join('\n'), headers: { 'content-type': 'text/csv' } });
        expect(response.statusCode).toBeLessThan(500);
        if (response.statusCode === 200) {
          const body = response.json();
          expect(body.imported + body.rejectedCount).toBeLessThanOrEqual(lines.length);
        } else {
          expect(response.json()).toMatchObject({ success: false, error: 'INVALID_CSV' });
        }
      }),
      { numRuns: 200, seed: 20261206 },
    );
  });
});

describe('metadata is bounded in depth and keys', () => {
  it.each([
    ['5,000 levels (30 KB)', nestedText(5_000)],
    ['1,000 levels', nestedText(1_000)],
    ['6 levels', nestedText(6)],
  ])('refuses metadata nested %s with a 400 naming the field', async (_, metadata) => {
    const payload = `{"to":"+14155550123","message":"Hi","metadata":${metadata}}`;
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload, headers: { 'content-type': 'application/json' } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'VALIDATION_ERROR', details: [{ field: 'metadata', message: expect.stringContaining('nested more than 5 levels') }] });
  });

  it('refuses more than 200 keys and array items in all', async () => {
    const metadata = { list: Array.from({ length: 150 }, (_, i) => i), more: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i])) };
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-call', payload: aCall({ metadata }) });
    expect(response.statusCode).toBe(400);
    expect(response.json().details[0]).toMatchObject({ field: 'metadata', message: expect.stringContaining('more than 200 keys') });
  });

  it('takes metadata at the limits, and lists it back as JSON any parser reads', async () => {
    const metadata = { campaign: 'Q4', deep: JSON.parse(nestedText(4)), items: Array.from({ length: 100 }, (_, i) => i) };
    const created = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-delayed-call', payload: aCall({ metadata, delayMs: 3_600_000 }) });
    expect(created.statusCode).toBe(201);
    const listed = await service.app.inject({ method: 'GET', url: '/api/queue/delayed?start=0&end=999' });
    expect(JSON.parse(listed.body).jobs.find((job: { jobId: string }) => job.jobId === created.json().jobId).data.metadata).toEqual(metadata);
  });
});

describe('recurring time zones', () => {
  it('are stored by their canonical name', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-recurring-call', payload: aCall({ cronExpression: '0 9 * * *', timezone: 'europe/london' }) });
    expect(response.statusCode).toBe(201);
    const recurring = await service.app.inject({ method: 'GET', url: '/api/queue/recurring' });
    expect(recurring.json().schedules.find((schedule: { recurringId: string }) => schedule.recurringId === response.json().recurringId)).toMatchObject({ timezone: 'Europe/London' });
  });

  it('refuses a name that is no time zone', async () => {
    const response = await service.app.inject({ method: 'POST', url: '/api/queue/schedule-recurring-call', payload: aCall({ cronExpression: '0 9 * * *', timezone: 'Mars/Olympus' }) });
    expect(response.statusCode).toBe(400);
    expect(response.json().details[0]).toMatchObject({ field: 'timezone' });
  });
});

describe('campaign inputs, generated', () => {
  const campaignFields = ['name', 'message', 'startAt', 'endAt', 'priority', 'variables', 'metadata', 'from', 'callerIds', 'connect', 'agentTarget', 'callingWindow', 'frequencyCap', 'redial', 'rateShare', 'slotShare'];
  const valid = { name: 'Renewals', message: 'Hi {{first_name}}', callerIds: ['+14155550001'], redial: { busy: { max: 2, delayMs: 60_000 } }, rateShare: 3, callingWindow: 'Mon-Fri 09:00-20:00' };

  it('any body for a campaign, its contacts, a change or a retry: never a 5xx, always the error shape, nothing added when refused', async () => {
    const created = await service.app.inject({ method: 'POST', url: '/api/campaigns', payload: valid });
    const id = created.json().campaign.id as string;
    const targets: Array<{ method: 'POST' | 'PATCH'; url: string; body: fc.Arbitrary<string> }> = [
      { method: 'POST', url: '/api/campaigns', body: nearlyValid(valid, campaignFields) },
      { method: 'PATCH', url: `/api/campaigns/${id}`, body: nearlyValid({ name: 'x', rateShare: 2 }, campaignFields) },
      { method: 'POST', url: `/api/campaigns/${id}/contacts`, body: fc.oneof(nearlyValid({ contacts: [{ to: '+14155550101' }] }, ['contacts']), fc.array(nearlyValid({ to: '+14155550101', contactId: 'c1', lead_id: 'L1', variables: { a: 'b' } }, ['to', 'contactId', 'lead_id', 'variables']), { minLength: 1, maxLength: 3 }).map((contacts) => `{"contacts":[${contacts.join(',')}]}`)) },
      { method: 'POST', url: `/api/campaigns/${id}/retry`, body: nearlyValid({ outcomes: ['busy'] }, ['outcomes']) },
    ];
    const contactsOf = async () => (await service.app.inject({ method: 'GET', url: `/api/campaigns/${id}` })).json().campaign.progress.contacts as number;
    for (const { method, url, body } of targets) {
      await fc.assert(
        fc.asyncProperty(body, async (payload) => {
          const before = [await service.queue.getJobCounts(), await contactsOf()];
          const response = await service.app.inject({ method, url, payload, headers: { 'content-type': 'application/json' } });
          expect(response.statusCode, `${method} ${url} ${payload.slice(0, 200)}`).toBeLessThan(500);
          if (response.statusCode >= 400) {
            expect(response.json()).toMatchObject({ success: false, error: expect.any(String), message: expect.any(String) });
            expect([await service.queue.getJobCounts(), await contactsOf()]).toEqual(before);
          }
        }),
        { numRuns: 200, seed: 20261205 },
      );
    }
  });

  it('any CSV upload and column mapping: never a 5xx, and a refused upload adds no contact', async () => {
    const id = (await service.app.inject({ method: 'POST', url: '/api/campaigns', payload: valid })).json().campaign.id as string;
    const cell = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('+14155550101', '+1 415 555 0102', '"', '""', '\r', '\n', ',', '\u0000', '=cmd()', 'number'));
    const csv = fc.array(fc.array(cell, { minLength: 0, maxLength: 5 }), { maxLength: 20 }).map((rows) => rows.map((row) => row.join(',')).join('\n'));
    const query = fc.dictionary(fc.constantFrom('numberColumn', 'contactIdColumn', 'leadIdColumn', 'variableColumns', 'dryRun', 'importId'), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('number', 'true', 'false', 'a,b')));
    await fc.assert(
      fc.asyncProperty(csv, query, async (text, params) => {
        const before = (await service.app.inject({ method: 'GET', url: `/api/campaigns/${id}` })).json().campaign.progress.contacts;
        const response = await service.app.inject({ method: 'POST', url: `/api/campaigns/${id}/contacts/csv?${new URLSearchParams(params)}`, payload: text, headers: { 'content-type': 'text/csv' } });
        expect(response.statusCode, `${JSON.stringify(params)} ${JSON.stringify(text)}`).toBeLessThan(500);
        if (response.statusCode >= 400) expect((await service.app.inject({ method: 'GET', url: `/api/campaigns/${id}` })).json().campaign.progress.contacts).toBe(before);
      }),
      { numRuns: 300, seed: 20261205 },
    );
  });
});

describe('webhook subscriptions, generated', () => {
  const subscription = { url: 'https://crm.example.com/hooks', eventTypes: ['call.completed'], campaignId: 'c1', description: 'CRM' };
  const fields = ['url', 'eventTypes', 'campaignId', 'description', 'enabled'];
  const removeAll = async () => {
    const listed = (await service.app.inject({ method: 'GET', url: '/api/webhooks' })).json().webhooks as Array<{ id: string }>;
    for (const { id } of listed) await service.app.inject({ method: 'DELETE', url: `/api/webhooks/${id}` });
  };

  it('any body to create, change or replay: never a 5xx, the error shape on a 4xx, no call enqueued', async () => {
    const created = await service.app.inject({ method: 'POST', url: '/api/webhooks', payload: subscription });
    const id = created.json().webhook.id as string;
    const bodies = fc.oneof(
      nearlyValid(subscription, fields).map((payload) => ({ method: 'POST' as const, url: '/api/webhooks', payload })),
      nearlyValid({ description: 'changed' }, fields).map((payload) => ({ method: 'PATCH' as const, url: `/api/webhooks/${id}`, payload })),
      nearlyValid({ from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }, ['from', 'to', 'eventIds']).map((payload) => ({ method: 'POST' as const, url: `/api/webhooks/${id}/replay`, payload })),
    );
    try {
      await fc.assert(
        fc.asyncProperty(bodies, async ({ method, url, payload }) => {
          const before = await service.queue.getJobCounts();
          const response = await service.app.inject({ method, url, payload, headers: { 'content-type': 'application/json' } });
          expect(response.statusCode, response.body).toBeLessThan(500);
          if (response.statusCode >= 400) expect(response.json()).toMatchObject({ success: false, error: expect.any(String), message: expect.any(String) });
          expect(await service.queue.getJobCounts()).toEqual(before);
        }),
        { numRuns: 300, seed: 20261207 },
      );
    } finally {
      await removeAll();
    }
  });

  it('any id or query in the path: 400 or 404, never a 5xx', async () => {
    const query = fc.dictionary(fc.constantFrom('eventId', 'result', 'limit', 'junk'), fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('0', '-1', '1001', 'failed', 'delivered', '1e9')));
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 120 }), query, async (id, search) => {
        for (const [method, url] of [
          ['GET', `/api/webhooks/${encodeURIComponent(id)}`],
          ['GET', `/api/webhooks/${encodeURIComponent(id)}/deliveries?${new URLSearchParams(search)}`],
          ['POST', `/api/webhooks/${encodeURIComponent(id)}/rotate-secret`],
          ['DELETE', `/api/webhooks/${encodeURIComponent(id)}`],
        ] as const) {
          const response = await service.app.inject({ method, url });
          expect([400, 404], `${method} ${url}: ${response.body}`).toContain(response.statusCode);
        }
      }),
      { numRuns: 150, seed: 20261207 },
    );
  });
});
