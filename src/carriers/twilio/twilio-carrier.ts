import twilio from 'twilio';
import type { CallInstance } from 'twilio/lib/rest/api/v2010/account/call.js';
import type { CallEvent } from '../call-status.js';
import { DialError, type Carrier, type PlaceCallRequest } from '../carrier.js';

type RequestOptions<TData> = import('twilio/lib/base/RequestClient.js').RequestOptions<TData>;
type RestExceptionWithRetry = InstanceType<typeof twilio.RestException> & { retryAfterMs?: number };

const TWILIO_ORIGIN = 'https://api.twilio.com';

export interface TwilioCarrierOptions {
  accountSid: string;
  authToken: string;
  /** Sends the SDK's requests elsewhere (a proxy, or a stand-in in tests). */
  apiBaseUrl?: string;
  timeoutMs: number;
}

/** `Retry-After` in seconds or as an HTTP date. */
export function parseRetryAfter(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The SDK has no base-URL option, so its HTTP client rewrites the origin of every request. It also
 * raises Twilio's errors itself, keeping the `Retry-After` header the SDK would drop.
 */
class TwilioHttpClient extends twilio.RequestClient {
  constructor(
    private readonly origin: string,
    options: ConstructorParameters<typeof twilio.RequestClient>[0],
  ) {
    super(options);
  }

  override async request<TData>(opts: RequestOptions<TData>) {
    const uri = opts.uri.startsWith(TWILIO_ORIGIN) ? this.origin + opts.uri.slice(TWILIO_ORIGIN.length) : opts.uri;
    const response = await super.request<TData>({ ...opts, uri });
    if (response.statusCode >= 400) {
      const error: RestExceptionWithRetry = new twilio.RestException(response);
      error.retryAfterMs = parseRetryAfter(response.headers?.['retry-after']);
      throw error;
    }
    return response;
  }
}

export function createTwilioClient(options: TwilioCarrierOptions): twilio.Twilio {
  const origin = (options.apiBaseUrl ?? TWILIO_ORIGIN).replace(/\/+$/, '');
  const httpClient = new TwilioHttpClient(origin, { timeout: options.timeoutMs, keepAlive: true });
  return twilio(options.accountSid, options.authToken, { httpClient });
}

/** Errors raised before a request could reach Twilio: nothing was created. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

export function toDialError(error: unknown): DialError {
  if (error instanceof DialError) return error;
  if (error instanceof twilio.RestException) {
    const { status, code, retryAfterMs } = error as RestExceptionWithRetry;
    const rateLimited = status === 429 || code === 20429;
    return new DialError(`Twilio ${code ?? status}: ${error.message}`, {
      retryable: rateLimited || status >= 500,
      // A 5xx may come after Twilio created the call; a 429 or a 4xx was never processed.
      ambiguous: !rateLimited && status >= 500,
      code: code ?? status,
      httpStatus: status,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    });
  }
  const cause = error as { code?: string; message?: string };
  const code = cause.code ?? 'UNKNOWN';
  return new DialError(`Twilio unreachable: ${code} ${cause.message ?? ''}`.trim(), {
    retryable: true,
    ambiguous: !NEVER_SENT.has(code),
    code,
  });
}

const toEvent = (call: CallInstance): CallEvent => ({
  status: call.status,
  at: (call.endTime ?? call.startTime ?? call.dateUpdated ?? new Date()).toISOString(),
  ...(call.duration != null && call.duration !== '' && { durationSeconds: Number(call.duration) }),
  ...(call.answeredBy && { answeredBy: call.answeredBy }),
});

/**
 * How far a look-up pages. Calls to one number from one caller id since a dial, or queued for it, are
 * few (one per job), so a page of 100 answers nearly every look-up in one request. Up to 10 pages
 * (1,000 calls; Twilio holds calls queued a day at most) still find the call on a number that was
 * dialed in a loop, while bounding what one look-up costs.
 */
const LOOKUP_PAGING = { pageSize: 100, limit: 1_000 };

export function createTwilioCarrier(options: TwilioCarrierOptions): Carrier {
  const client = createTwilioClient(options);
  const calling = async <T>(request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (error) {
      throw toDialError(error);
    }
  };

  return {
    name: 'twilio',
    placeCall: (request: PlaceCallRequest) =>
      calling(async () => {
        const call = await client.calls.create({
          to: request.to,
          from: request.from,
          ...('twiml' in request.answer ? { twiml: request.answer.twiml } : { url: request.answer.url, method: 'POST' }),
          ...(request.statusCallbackUrl && {
            statusCallback: request.statusCallbackUrl,
            statusCallbackMethod: 'POST',
            statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
          }),
          ...(request.machineDetection && { machineDetection: request.machineDetection }),
          ...(request.asyncAmdCallbackUrl && { asyncAmd: 'true', asyncAmdStatusCallback: request.asyncAmdCallbackUrl, asyncAmdStatusCallbackMethod: 'POST' }),
          ...(request.timeoutSeconds !== undefined && { timeout: request.timeoutSeconds }),
          ...(request.record !== undefined && { record: request.record }),
          ...(request.timeLimitSeconds !== undefined && { timeLimit: request.timeLimitSeconds }),
        });
        return { sid: call.sid, status: call.status };
      }),
    fetchCall: (sid) => calling(async () => toEvent(await client.calls(sid).fetch())),
    findCalls: ({ to, from, since }) =>
      calling(async () => {
        // Twilio holds calls over the account's calls per second queued, with no start_time, for up
        // to a day, and a StartTime filter never matches those. Queued ones are asked for first: a
        // call that leaves the queue between the two requests has started by the second.
        const queued = await client.calls.list({ to, from, status: 'queued', ...LOOKUP_PAGING });
        const started = await client.calls.list({ to, from, startTimeAfter: since, ...LOOKUP_PAGING });
        const bySid = new Map([...queued, ...started].map((call) => [call.sid, call]));
        return [...bySid.values()]
          .filter((call) => call.dateCreated >= since)
          .map((call) => ({ sid: call.sid, status: call.status, createdAt: call.dateCreated }));
      }),
    redirectQueueMember: async (queueSid, callSid, url) => {
      try {
        await client.queues(queueSid).members(callSid).update({ url, method: 'POST' });
        return true;
      } catch (error) {
        // Twilio answers 404 for a caller who is no longer in the queue.
        if (error instanceof twilio.RestException && error.status === 404) return false;
        throw toDialError(error);
      }
    },
    endCall: (sid) =>
      calling(async () => {
        await client.calls(sid).update({ status: 'completed' });
      }),
    redirectCall: async (sid, twiml) => {
      try {
        await client.calls(sid).update({ twiml });
        return true;
      } catch (error) {
        // Twilio refuses to redirect a call that is no longer in progress (21220).
        if (error instanceof twilio.RestException && (error.code === 21220 || error.status === 404)) return false;
        throw toDialError(error);
      }
    },
    verify: () =>
      calling(async () => {
        const account = await client.api.v2010.accounts(options.accountSid).fetch();
        return `Twilio account ${account.friendlyName ?? account.sid} is ${account.status}`;
      }),
  };
}
