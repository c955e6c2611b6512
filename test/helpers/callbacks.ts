import { signLikeTwilio } from '../../src/carriers/twilio/twilio-signature.js';
import type { Service } from './harness.js';

/** Posts a status callback to the service as Twilio would, signed with `authToken` unless told otherwise. */
export async function sendStatusCallback(
  service: Service,
  jobId: string,
  params: Record<string, string>,
  options: { authToken?: string; signature?: string; signedParams?: Record<string, string> } = {},
) {
  const path = jobId ? `/webhooks/twilio/status?jobId=${encodeURIComponent(jobId)}` : '/webhooks/twilio/status';
  const url = `${service.config.callbackBaseUrl ?? service.baseUrl}${path}`;
  const signature =
    options.signature ?? signLikeTwilio(options.authToken ?? service.config.webhookAuthToken, url, options.signedParams ?? params);
  return service.app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    payload: new URLSearchParams(params).toString(),
  });
}

/** Waits until `read` returns a value `done` accepts; for states reached through HTTP callbacks, which no event reports. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Posts any Twilio webhook (voice, wait, callback…) to the service, signed as Twilio would. */
export async function sendTwilioWebhook(service: Service, path: string, params: Record<string, string>) {
  const url = `${service.config.callbackBaseUrl ?? service.baseUrl}${path}`;
  return service.app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signLikeTwilio(service.config.webhookAuthToken, url, params) },
    payload: new URLSearchParams(params).toString(),
  });
}
