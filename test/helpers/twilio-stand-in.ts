import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadTwilioContract, type ContractViolation } from './twilio-contract.js';

export const TEST_ACCOUNT_SID = `AC${'0'.repeat(31)}1`;
export const TEST_AUTH_TOKEN = 'test-auth-token';

type Params = Record<string, string | string[]>;

export interface RecordedRequest {
  method: string;
  path: string;
  receivedAt: number;
  query: Params;
  params: Params;
  authorized: boolean;
}

export interface ScriptedFailure {
  status: number;
  code: number;
  message?: string;
  /** Sent as the Retry-After header. */
  retryAfter?: string;
  /** Create the call anyway, then answer with the failure: a response lost after Twilio acted. */
  createAnyway?: boolean;
}

export interface StandInCall {
  sid: string;
  to: string;
  from: string;
  status: string;
  dateCreated: Date;
  startTime?: Date;
  endTime?: Date;
  duration?: number;
  answeredBy?: string;
}

const contract = loadTwilioContract();

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('error', reject);
    request.on('end', () => resolve(body));
  });
}

function toParams(search: URLSearchParams): Params {
  const params: Params = {};
  for (const [key, value] of search) {
    const previous = params[key];
    params[key] = previous === undefined ? value : ([] as string[]).concat(previous, value);
  }
  return params;
}

const rfc2822 = (date: Date | undefined) => (date ? date.toUTCString().replace('GMT', '+0000') : null);

function callResource(call: StandInCall) {
  return {
    sid: call.sid,
    account_sid: TEST_ACCOUNT_SID,
    to: call.to,
    from: call.from,
    status: call.status,
    direction: 'outbound-api',
    api_version: '2010-04-01',
    date_created: rfc2822(call.dateCreated),
    date_updated: rfc2822(new Date()),
    start_time: rfc2822(call.startTime),
    end_time: rfc2822(call.endTime),
    duration: call.duration === undefined ? null : String(call.duration),
    answered_by: call.answeredBy ?? null,
    uri: `/2010-04-01/Accounts/${TEST_ACCOUNT_SID}/Calls/${call.sid}.json`,
  };
}

/**
 * Stands in for api.twilio.com at the HTTP boundary, so the real SDK builds and sends every request.
 * Every request is checked against Twilio's OpenAPI description first: one that does not match it
 * is recorded as a violation and refused. Calls are kept in memory: created, fetched, listed and
 * updated as Twilio would, or failed as a test scripts it.
 */
export async function startTwilioStandIn(options: { createLatencyMs?: number } = {}) {
  const requests: RecordedRequest[] = [];
  const violations: ContractViolation[] = [];
  const calls = new Map<string, StandInCall>();
  const scripted = new Map<string, ScriptedFailure[]>();
  const expectedAuth = `Basic ${Buffer.from(`${TEST_ACCOUNT_SID}:${TEST_AUTH_TOKEN}`).toString('base64')}`;
  const base = `/2010-04-01/Accounts/${TEST_ACCOUNT_SID}`;
  /** Callers in Twilio queues: QueueSid -> CallSids, as a test that plays inbound calls puts them. */
  const queues = new Map<string, Set<string>>();
  const redirects: Array<{ queueSid: string; callSid: string; url: string }> = [];
  const events = new EventEmitter();

  const reply = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
  const twilioError = (code: number, message: string, status: number) => ({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

  const createCall = (params: Params): StandInCall => {
    const call: StandInCall = { sid: `CA${randomBytes(16).toString('hex')}`, to: String(params.To), from: String(params.From), status: 'queued', dateCreated: new Date() };
    calls.set(call.sid, call);
    return call;
  };

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const method = request.method ?? 'GET';
    const query = toParams(url.searchParams);
    const raw = method === 'POST' ? await readBody(request) : '';
    const params = method === 'POST' ? toParams(new URLSearchParams(raw)) : {};
    const authorized = request.headers.authorization === expectedAuth;
    requests.push({ method, path: url.pathname, receivedAt: Date.now(), query, params, authorized });

    const problems = contract.check(method, url.pathname, query, method === 'POST' ? params : undefined);
    if (problems.length > 0) {
      violations.push({ method, path: url.pathname, problems });
      return reply(response, 400, twilioError(99999, `Request does not match Twilio's API description: ${problems.join('; ')}`, 400));
    }
    if (!authorized) return reply(response, 401, twilioError(20003, 'Authenticate', 401));

    if (method === 'GET' && url.pathname === `${base}.json`) {
      return reply(response, 200, { sid: TEST_ACCOUNT_SID, friendly_name: 'Stand-in account', status: 'active', type: 'Full' });
    }
    if (url.pathname === `${base}/Calls.json`) {
      if (method === 'POST') {
        if (options.createLatencyMs) await sleep(options.createLatencyMs);
        const failure = scripted.get(String(params.To))?.shift();
        if (failure) {
          if (failure.createAnyway) createCall(params);
          return reply(response, failure.status, twilioError(failure.code, failure.message ?? `Scripted failure ${failure.code}`, failure.status), failure.retryAfter ? { 'retry-after': failure.retryAfter } : {});
        }
        const call = createCall(params);
        events.emit('create', call, params);
        return reply(response, 201, callResource(call));
      }
      const listed = [...calls.values()]
        .filter((call) => (query.To === undefined || call.to === query.To) && (query.From === undefined || call.from === query.From))
        .sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime())
        .slice(0, Number(query.PageSize ?? 50));
      return reply(response, 200, {
        calls: listed.map(callResource),
        page: 0,
        page_size: listed.length,
        start: 0,
        end: Math.max(0, listed.length - 1),
        uri: `${base}/Calls.json`,
        first_page_uri: `${base}/Calls.json`,
        next_page_uri: null,
        previous_page_uri: null,
      });
    }
    const member = new RegExp(`^${base}/Queues/(QU[0-9a-f]{32})/Members/(CA[0-9a-f]{32})\\.json$`).exec(url.pathname);
    if (member && method === 'POST') {
      const [, queueSid, callSid] = member as unknown as [string, string, string];
      if (!queues.get(queueSid)?.delete(callSid)) return reply(response, 404, twilioError(20404, 'The requested resource was not found', 404));
      redirects.push({ queueSid, callSid, url: String(params.Url) });
      events.emit('redirect', { queueSid, callSid, url: String(params.Url) });
      return reply(response, 200, { call_sid: callSid, queue_sid: queueSid, position: 0, wait_time: 0, date_enqueued: rfc2822(new Date()), uri: url.pathname });
    }
    const one = new RegExp(`^${base}/Calls/(CA[0-9a-f]{32})\\.json$`).exec(url.pathname);
    const call = one ? calls.get(one[1]!) : undefined;
    if (one && !call) return reply(response, 404, twilioError(20404, 'The requested resource was not found', 404));
    if (call && method === 'GET') return reply(response, 200, callResource(call));
    if (call && method === 'POST') {
      if (params.Status) Object.assign(call, { status: String(params.Status), endTime: new Date() });
      return reply(response, 200, callResource(call));
    }
    return reply(response, 404, twilioError(20404, 'The requested resource was not found', 404));
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const creates = () => requests.filter((entry) => entry.method === 'POST' && entry.path === `${base}/Calls.json`);
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    redirects,
    /** A caller now waits in a Twilio queue (what <Enqueue> does). */
    enqueue(queueSid: string, callSid: string) {
      queues.set(queueSid, (queues.get(queueSid) ?? new Set()).add(callSid));
    },
    /** A waiting caller hung up. */
    leaveQueue(queueSid: string, callSid: string) {
      queues.get(queueSid)?.delete(callSid);
    },
    /** A call the stand-in did not place (an inbound one), so it can be fetched. */
    addCall(call: Pick<StandInCall, 'sid' | 'to' | 'from' | 'status'>) {
      calls.set(call.sid, { ...call, dateCreated: new Date() });
    },
    requests,
    violations,
    calls,
    /** Every POST to the Calls list, whatever the answer. */
    get creates() {
      return creates();
    },
    createsTo: (to: string) => creates().filter((entry) => entry.params.To === to),
    /** The next dials of `to` fail with these answers, in order. */
    failNext(to: string, ...failures: ScriptedFailure[]) {
      scripted.set(to, [...(scripted.get(to) ?? []), ...failures]);
    },
    /** Moves a call on, as the network would. */
    setCallStatus(sid: string, status: string, extra: Partial<StandInCall> = {}) {
      const call = calls.get(sid);
      if (!call) throw new Error(`no call ${sid}`);
      Object.assign(call, { status, ...extra });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type TwilioStandIn = Awaited<ReturnType<typeof startTwilioStandIn>>;
