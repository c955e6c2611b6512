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

export interface TwilioStandInOptions {
  /** How long a create takes before the call exists. */
  createLatencyMs?: number;
  /**
   * Holds every created call `queued`, with no `start_time`, this long before dialing it (`ringing`,
   * `start_time` set), as Twilio does with calls over the account's calls per second. Without it a
   * call counts as started when created and keeps the status it was created with.
   */
  queuedForMs?: number;
}

/** The list parameters this stand-in honours as Twilio does; any other one Twilio names is refused, not ignored. */
const LIST_FILTERS = new Set(['To', 'From', 'Status', 'StartTime>', 'StartTime<', 'StartTime', 'PageSize', 'Page', 'PageToken']);
const DEFAULT_PAGE_SIZE = 50;

const utcDay = (date: Date) => date.toISOString().slice(0, 10);

/** Whether a call matches a list request's filters; a call that has not started matches no `StartTime` filter. */
function matchesFilters(call: StandInCall, query: Params): boolean {
  const one = (name: string) => (query[name] === undefined ? undefined : String(query[name]));
  const after = one('StartTime>');
  const before = one('StartTime<');
  const on = one('StartTime');
  if (one('To') !== undefined && call.to !== one('To')) return false;
  if (one('From') !== undefined && call.from !== one('From')) return false;
  if (one('Status') !== undefined && call.status !== one('Status')) return false;
  if (after === undefined && before === undefined && on === undefined) return true;
  const started = call.startTime;
  if (!started) return false;
  if (after !== undefined && started < new Date(after)) return false;
  if (before !== undefined && started >= new Date(before)) return false;
  if (on !== undefined && utcDay(started) !== utcDay(new Date(on))) return false;
  return true;
}

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
export async function startTwilioStandIn(options: TwilioStandInOptions = {}) {
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

  const holds = new Set<NodeJS.Timeout>();
  const createCall = (params: Params): StandInCall => {
    const dateCreated = new Date();
    const call: StandInCall = { sid: `CA${randomBytes(16).toString('hex')}`, to: String(params.To), from: String(params.From), status: 'queued', dateCreated };
    if (options.queuedForMs) {
      const hold = setTimeout(() => {
        holds.delete(hold);
        if (call.status === 'queued' && !call.startTime) Object.assign(call, { status: 'ringing', startTime: new Date() });
      }, options.queuedForMs);
      holds.add(hold);
    } else {
      call.startTime = dateCreated;
    }
    calls.set(call.sid, call);
    return call;
  };

  /** One page of the Calls list, newest first; the page token names the last call of the previous page. */
  const listCalls = (url: URL, query: Params) => {
    const unmodelled = Object.keys(query).filter((name) => !LIST_FILTERS.has(name));
    if (unmodelled.length > 0) return { unmodelled };
    const pageSize = Number(query.PageSize ?? DEFAULT_PAGE_SIZE);
    const page = Number(query.Page ?? 0);
    const matching = [...calls.values()].filter((call) => matchesFilters(call, query)).sort((a, b) => b.dateCreated.getTime() - a.dateCreated.getTime());
    const anchor = matching.findIndex((call) => `PA${call.sid}` === query.PageToken);
    const first = query.PageToken === undefined ? 0 : anchor === -1 ? matching.length : anchor + 1;
    const listed = matching.slice(first, first + pageSize);
    const pageUri = (index: number, token?: string) => {
      const search = new URLSearchParams(url.searchParams);
      search.set('PageSize', String(pageSize));
      search.set('Page', String(index));
      search.delete('PageToken');
      if (token) search.set('PageToken', token);
      return `${url.pathname}?${search}`;
    };
    const last = listed.at(-1);
    return {
      body: {
        calls: listed.map(callResource),
        page,
        page_size: pageSize,
        start: page * pageSize,
        end: page * pageSize + Math.max(0, listed.length - 1),
        uri: pageUri(page, query.PageToken === undefined ? undefined : String(query.PageToken)),
        first_page_uri: pageUri(0),
        next_page_uri: last && first + pageSize < matching.length ? pageUri(page + 1, `PA${last.sid}`) : null,
        previous_page_uri: null,
      },
    };
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
      const listed = listCalls(url, query);
      if (listed.unmodelled) {
        const problems = listed.unmodelled.map((name) => `query: the stand-in does not model the filter ${name}`);
        violations.push({ method, path: url.pathname, problems });
        return reply(response, 400, twilioError(99999, problems.join('; '), 400));
      }
      return reply(response, 200, listed.body);
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
    /** A call the stand-in did not place (an inbound one, or one from before a test), so it can be fetched and listed. */
    addCall(call: Pick<StandInCall, 'sid' | 'to' | 'from' | 'status'> & Partial<Pick<StandInCall, 'dateCreated' | 'startTime'>>) {
      calls.set(call.sid, { dateCreated: new Date(), ...call });
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
    close: () => {
      for (const hold of holds) clearTimeout(hold);
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type TwilioStandIn = Awaited<ReturnType<typeof startTwilioStandIn>>;
