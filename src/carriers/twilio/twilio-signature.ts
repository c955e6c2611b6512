import twilio from 'twilio';

/**
 * Twilio signs the full URL it called (our public base plus path and query) and the form
 * parameters with the account's auth token; a request that does not match was not sent by Twilio,
 * or was changed on the way.
 */
export function isSignedByTwilio(options: {
  authToken: string;
  publicBaseUrl: string;
  requestUrl: string;
  signature: string | undefined;
  params: Record<string, string | string[]>;
}): boolean {
  if (!options.signature) return false;
  const url = options.publicBaseUrl.replace(/\/+$/, '') + options.requestUrl;
  return twilio.validateRequest(options.authToken, options.signature, url, options.params);
}

/** Signs a callback as Twilio would: for the simulated carrier and for tests. */
export function signLikeTwilio(authToken: string, url: string, params: Record<string, string | string[]>): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}
