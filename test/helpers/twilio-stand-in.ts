import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export const TEST_ACCOUNT_SID = `AC${'0'.repeat(31)}1`;
export const TEST_AUTH_TOKEN = 'test-auth-token';

export interface RecordedCreate {
  receivedAt: number;
  params: Record<string, string | string[]>;
  authorized: boolean;
}

export interface ScriptedFailure {
  status: number;
  code: number;
  message?: string;
}

function readForm(request: IncomingMessage): Promise<Record<string, string | string[]>> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('error', reject);
    request.on('end', () => {
      const params: Record<string, string | string[]> = {};
      for (const [key, value] of new URLSearchParams(body)) {
        const previous = params[key];
        params[key] = previous === undefined ? value : ([] as string[]).concat(previous, value);
      }
      resolve(params);
    });
  });
}

/**
 * Stands in for api.twilio.com at the HTTP boundary: the real SDK builds and sends every request.
 * It accepts `POST /2010-04-01/Accounts/{sid}/Calls.json`, records it, and answers like Twilio,
 * or with the failures scripted for a number.
 */
export async function startTwilioStandIn() {
  const creates: RecordedCreate[] = [];
  const scripted = new Map<string, ScriptedFailure[]>();
  const expectedAuth = `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`;

  const server = createServer(async (request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const authorized = request.headers.authorization === expectedAuth;
    const account = /^\/2010-04-01\/Accounts\/(AC\w+)\.json$/.exec(request.url ?? '');
    if (request.method === 'GET' && account) {
      if (!authorized) return reply(401, { code: 20003, message: 'Authenticate', status: 401 });
      return reply(200, { sid: account[1], friendly_name: 'Stand-in account', status: 'active', type: 'Full' });
    }
    const match = /^\/2010-04-01\/Accounts\/(AC\w+)\/Calls\.json$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !match) return reply(404, { code: 20404, message: 'Not found', status: 404 });

    const params = await readForm(request);
    creates.push({ receivedAt: Date.now(), params, authorized });
    if (!authorized) return reply(401, { code: 20003, message: 'Authenticate', status: 401 });

    const failure = scripted.get(String(params.To))?.shift();
    if (failure) {
      return reply(failure.status, {
        code: failure.code,
        message: failure.message ?? `Scripted failure ${failure.code}`,
        more_info: `https://www.twilio.com/docs/errors/${failure.code}`,
        status: failure.status,
      });
    }
    const now = new Date().toUTCString();
    reply(201, {
      sid: `CA${randomBytes(16).toString('hex')}`,
      account_sid: match[1],
      to: params.To,
      from: params.From,
      status: 'queued',
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      uri: `/2010-04-01/Accounts/${match[1]}/Calls/CA.json`,
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    creates,
    /** The next calls to `to` fail with these answers, in order. */
    failNext(to: string, ...failures: ScriptedFailure[]) {
      scripted.set(to, [...(scripted.get(to) ?? []), ...failures]);
    },
    createsTo: (to: string) => creates.filter((create) => create.params.To === to),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type TwilioStandIn = Awaited<ReturnType<typeof startTwilioStandIn>>;
