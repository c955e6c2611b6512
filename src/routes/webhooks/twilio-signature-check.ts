import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FormParams } from '../../carriers/twilio/twilio-form.js';
import { isSignedByTwilio } from '../../carriers/twilio/twilio-signature.js';

export interface SignatureCheckOptions {
  authToken: string;
  /** The base URL Twilio calls us at; the signature covers it. */
  publicBaseUrl: string;
}

/** A preHandler that answers 403 to a request whose X-Twilio-Signature does not cover its URL and form. */
export function requireTwilioSignature({ authToken, publicBaseUrl }: SignatureCheckOptions) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const signed = isSignedByTwilio({
      authToken,
      publicBaseUrl,
      requestUrl: request.url,
      signature: request.headers['x-twilio-signature'] as string | undefined,
      params: (request.body ?? {}) as FormParams,
    });
    if (!signed) {
      request.log.warn({ url: request.url }, 'request with a bad Twilio signature refused');
      return reply.code(403).send({ success: false, error: 'INVALID_SIGNATURE', message: 'X-Twilio-Signature does not match this request', requestId: request.id });
    }
  };
}
