import { describe, expect } from 'vitest';
import { createTwilioCarrier } from '../src/carriers/twilio/twilio-carrier.js';
import { sayTwiml } from '../src/carriers/twilio/twiml.js';
import { it, test } from './helpers/fixtures.js';
import { TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, type TwilioStandIn } from './helpers/twilio-stand-in.js';

let twilio: TwilioStandIn;
test.beforeEach(({ twilio: standIn }) => {
  twilio = standIn;
});

const dialer = () => createTwilioCarrier({ accountSid: TEST_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN, apiBaseUrl: twilio.url, timeoutMs: 5000 });

describe("every request the Twilio dialer makes matches Twilio's OpenAPI description", () => {
  it('creates, fetches, lists and updates calls, and fetches the account', async () => {
    const twilioDialer = dialer();
    await twilioDialer.verify!();
    const placed = await twilioDialer.placeCall({
      to: '+14155550123',
      from: '+14155550100',
      answer: { twiml: sayTwiml('Hello & welcome <3') },
      statusCallbackUrl: 'https://switchboard.example.com/webhooks/twilio/status?jobId=1',
      machineDetection: 'Enable',
      timeoutSeconds: 30,
      record: false,
      timeLimitSeconds: 14_400,
    });
    await twilioDialer.placeCall({ to: '+442079460958', from: '+14155550100', answer: { twiml: sayTwiml('Minimal') } });
    twilio.setCallStatus(placed.sid, 'completed', { duration: 42, answeredBy: 'human', endTime: new Date() });
    expect(await twilioDialer.fetchCall!(placed.sid)).toMatchObject({ status: 'completed', durationSeconds: 42, answeredBy: 'human' });
    const found = await twilioDialer.findCalls!({ to: '+14155550123', from: '+14155550100', since: new Date(Date.now() - 60_000) });
    expect(found.map((call) => call.sid)).toEqual([placed.sid]);
    await twilioDialer.endCall!(placed.sid);

    expect(twilio.violations).toEqual([]);
    const seen = twilio.requests.map((request) => `${request.method} ${request.path.replace(/CA[0-9a-f]{32}/, '{Sid}').replace(TEST_ACCOUNT_SID, '{AccountSid}')}`);
    expect(new Set(seen)).toEqual(
      new Set([
        'GET /2010-04-01/Accounts/{AccountSid}.json',
        'POST /2010-04-01/Accounts/{AccountSid}/Calls.json',
        'GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json',
        'GET /2010-04-01/Accounts/{AccountSid}/Calls.json',
        'POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json',
      ]),
    );
    expect(twilio.creates[0]!.params).toMatchObject({
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      StatusCallbackMethod: 'POST',
      MachineDetection: 'Enable',
    });
  });
});

describe('the look-up before a redial, against calls Twilio holds queued', () => {
  test.override({ twilioOptions: { queuedForMs: 60_000 } });
  const to = '+14155550123';
  const from = '+14155550100';
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

  it('finds a call still queued (no start_time) and a dialed one, not one created before `since` nor one to another number', async () => {
    const twilioDialer = dialer();
    const place = (number = to) => twilioDialer.placeCall({ to: number, from, answer: { twiml: sayTwiml('Hello') } });
    const queued = await place();
    const dialed = await place();
    twilio.setCallStatus(dialed.sid, 'in-progress', { startTime: new Date() });
    const queuedBefore = await place();
    twilio.setCallStatus(queuedBefore.sid, 'queued', { dateCreated: minutesAgo(10) });
    const startedSinceButCreatedBefore = await place();
    twilio.setCallStatus(startedSinceButCreatedBefore.sid, 'ringing', { dateCreated: minutesAgo(10), startTime: new Date() });
    await place('+14155550199');

    const found = await twilioDialer.findCalls!({ to, from, since: minutesAgo(1) });

    expect(twilio.calls.get(queued.sid)).toMatchObject({ status: 'queued' });
    expect(twilio.calls.get(queued.sid)?.startTime).toBeUndefined();
    expect(found.map((call) => call.sid).sort()).toEqual([queued.sid, dialed.sid].sort());
    expect(found.find((call) => call.sid === queued.sid)).toMatchObject({ status: 'queued' });
  });

  it('pages past the first page of the list', async () => {
    // A number over the account's calls per second: many queued calls, ours the oldest of them.
    const ours = { sid: `CA${'0'.repeat(31)}1`, to, from, status: 'queued', dateCreated: minutesAgo(0.5) };
    twilio.addCall(ours);
    for (let index = 0; index < 150; index++) {
      twilio.addCall({ sid: `CA${'f'.repeat(28)}${index.toString(16).padStart(4, '0')}`, to, from, status: 'queued', dateCreated: new Date(Date.now() - index) });
    }

    const found = await dialer().findCalls!({ to, from, since: minutesAgo(1) });

    expect(found.map((call) => call.sid)).toContain(ours.sid);
    expect(found).toHaveLength(151);
    expect(twilio.requests.filter((request) => request.method === 'GET' && request.query.Page === '1')).not.toHaveLength(0);
  });
});

describe('the contract check itself', () => {
  test.override({ contractViolationsExpected: true });
  const post = (body: string) =>
    fetch(`${twilio.url}/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Calls.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}` },
      body,
    });

  it.each([
    ['a misnamed parameter', 'To=%2B14155550123&From=%2B14155550100&Twiml=%3CResponse%2F%3E&StatusCallbak=https%3A%2F%2Fx.example', /unknown parameter StatusCallbak/],
    ['a missing required parameter', 'From=%2B14155550100&Twiml=%3CResponse%2F%3E', /required property 'To'/],
    ['a wrongly typed parameter', 'To=%2B14155550123&From=%2B14155550100&Timeout=soon', /Timeout: must be integer/],
  ])('refuses %s, and records it', async (_name, body, problem) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(twilio.violations).toHaveLength(1);
    expect(twilio.violations[0]!.problems.join('\n')).toMatch(problem);
  });

  it.each([
    ['a list filter Twilio does not name', 'To=%2B14155550123&StartTimeAfter=2026-01-01', /unknown parameter StartTimeAfter/],
    ['a list filter the stand-in does not model', 'To=%2B14155550123&EndTime%3E=2026-01-01T00%3A00%3A00Z', /does not model the filter EndTime>/],
  ])('refuses %s, and records it', async (_name, query, problem) => {
    const response = await fetch(`${twilio.url}/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Calls.json?${query}`, {
      headers: { authorization: `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}` },
    });
    expect(response.status).toBe(400);
    expect(twilio.violations).toHaveLength(1);
    expect(twilio.violations[0]!.problems.join('\n')).toMatch(problem);
  });
});
