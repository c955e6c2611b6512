import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { guardedLookup, literalRefused, RefusedDestinationError } from './destination-guard.js';
import type { WebhookEvent } from './event-types.js';

/** What one request to a receiver came to. */
export interface DeliveryResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** From a 429 or 503's Retry-After, in ms. */
  retryAfterMs: number | null;
  /** The destination was refused before any request (SSRF). */
  refused: boolean;
}

export interface DeliveryTarget {
  url: string;
  /** Signed with each: the current secret, and the previous one during a rotation. */
  secrets: string[];
}

export interface DeliveryOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  userAgent?: string;
}

/** Kept-alive connections, shared by every delivery of this process. */
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

/** The Standard Webhooks headers: one `v1,` signature per secret, separated by spaces. */
export function signedHeaders(event: WebhookEvent, body: string, secrets: string[], at: Date): Record<string, string> {
  return {
    'webhook-id': event.id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => new Webhook(secret).sign(event.id, at, body)).join(' '),
  };
}

/** Seconds or an HTTP date, as Retry-After gives it. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * POSTs one event, signed: no redirect followed (a 3xx is an answer like any other), one timeout
 * for the whole exchange, and the destination checked at connect time.
 */
export function deliverEvent(event: WebhookEvent, target: DeliveryTarget, options: DeliveryOptions): Promise<DeliveryResult> {
  const started = performance.now();
  const body = JSON.stringify(event);
  const url = new URL(target.url);
  const elapsed = () => Math.round(performance.now() - started);
  const refused = literalRefused(url, options.allowPrivate);
  if (refused) return Promise.resolve({ statusCode: null, latencyMs: 0, error: refused.message, retryAfterMs: null, refused: true });
  const protocol = url.protocol === 'https:' ? https : http;

  return new Promise((resolve) => {
    const request = protocol.request(
      url,
      {
        method: 'POST',
        agent: agents[url.protocol as keyof typeof agents],
        lookup: guardedLookup(options.allowPrivate) as never,
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': options.userAgent ?? 'Switchboard-Webhooks/1',
          ...signedHeaders(event, body, target.secrets, new Date()),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < 512) chunks.push(chunk);
          kept += chunk.length;
        });
        response.on('end', () => {
          const statusCode = response.statusCode ?? 0;
          const ok = statusCode >= 200 && statusCode < 300;
          const text = Buffer.concat(chunks).toString('utf8').slice(0, 300).trim();
          resolve({
            statusCode,
            latencyMs: elapsed(),
            error: ok ? null : `HTTP ${statusCode}${text ? `: ${text}` : ''}`,
            retryAfterMs: retryAfterMs(response.headers['retry-after']),
            refused: false,
          });
        });
        response.on('error', (error) => resolve({ statusCode: response.statusCode ?? null, latencyMs: elapsed(), error: error.message, retryAfterMs: null, refused: false }));
      },
    );
    request.on('error', (error: Error & { code?: string }) => {
      const timedOut = error.name === 'AbortError' || error.name === 'TimeoutError';
      resolve({
        statusCode: null,
        latencyMs: elapsed(),
        error: timedOut ? `no answer within ${options.timeoutMs} ms` : error instanceof RefusedDestinationError ? error.message : `${error.code ?? 'error'}: ${error.message}`,
        retryAfterMs: null,
        refused: error instanceof RefusedDestinationError,
      });
    });
    request.end(body);
  });
}

/** 2xx delivered it; 408, 409, 429 and 5xx (and no answer) may pass; any other answer will not change by asking again. */
export const isDelivered = (result: DeliveryResult) => result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
export const mayPass = (result: DeliveryResult) =>
  !result.refused && (result.statusCode === null || result.statusCode >= 500 || [408, 409, 429].includes(result.statusCode));
