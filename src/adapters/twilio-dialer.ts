import twilio from 'twilio';
import { DialError, type Dialer, type PlaceCallRequest } from './dialer.js';
import { sayTwiml } from '../services/twiml.js';

type RequestOptions<TData> = import('twilio/lib/base/RequestClient.js').RequestOptions<TData>;

const TWILIO_ORIGIN = 'https://api.twilio.com';

export interface TwilioDialerOptions {
  accountSid: string;
  authToken: string;
  /** Sends the SDK's requests elsewhere (a proxy, or a stand-in in tests). */
  apiBaseUrl?: string;
  timeoutMs: number;
}

/** The SDK has no base-URL option, so its HTTP client rewrites the origin of every request. */
class RebasedRequestClient extends twilio.RequestClient {
  constructor(
    private readonly origin: string,
    options: ConstructorParameters<typeof twilio.RequestClient>[0],
  ) {
    super(options);
  }

  override request<TData>(opts: RequestOptions<TData>) {
    const uri = opts.uri.startsWith(TWILIO_ORIGIN) ? this.origin + opts.uri.slice(TWILIO_ORIGIN.length) : opts.uri;
    return super.request<TData>({ ...opts, uri });
  }
}

export function createTwilioClient(options: TwilioDialerOptions): twilio.Twilio {
  const origin = (options.apiBaseUrl ?? TWILIO_ORIGIN).replace(/\/+$/, '');
  const httpClient = new RebasedRequestClient(origin, { timeout: options.timeoutMs, keepAlive: true });
  return twilio(options.accountSid, options.authToken, { httpClient });
}

/** Twilio errors that may pass on a later attempt: rate limits and Twilio's own faults. */
function isRetryableStatus(status: number, code: number | undefined): boolean {
  return status === 429 || code === 20429 || status >= 500;
}

export function toDialError(error: unknown): DialError {
  if (error instanceof twilio.RestException) {
    const retryable = isRetryableStatus(error.status, error.code);
    const code = error.code ?? error.status;
    return new DialError(`Twilio ${code}: ${error.message}`, retryable, code, error.status);
  }
  // No HTTP answer at all: a timeout, a reset or a refused connection. Worth another try.
  const cause = error as { code?: string; message?: string };
  return new DialError(`Twilio unreachable: ${cause.code ?? cause.message ?? String(error)}`, true, cause.code);
}

export function createTwilioDialer(options: TwilioDialerOptions): Dialer {
  const client = createTwilioClient(options);
  return {
    name: 'twilio',
    async placeCall(request: PlaceCallRequest) {
      try {
        const call = await client.calls.create({
          to: request.to,
          from: request.from,
          twiml: sayTwiml(request.message),
          ...(request.statusCallbackUrl && {
            statusCallback: request.statusCallbackUrl,
            statusCallbackMethod: 'POST',
            statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
          }),
        });
        return { sid: call.sid, status: call.status };
      } catch (error) {
        throw toDialError(error);
      }
    },
    async verify() {
      try {
        const account = await client.api.v2010.accounts(options.accountSid).fetch();
        return `Twilio account ${account.friendlyName ?? account.sid} is ${account.status}`;
      } catch (error) {
        throw toDialError(error);
      }
    },
  };
}
