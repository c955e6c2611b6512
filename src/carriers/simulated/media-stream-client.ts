import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { signLikeTwilio } from '../twilio/twilio-signature.js';

export interface MediaStreamOptions {
  url: string;
  accountSid: string;
  callSid: string;
  /** What `<Parameter>`s the TwiML gave the stream: `start.customParameters`. */
  customParameters: Record<string, string>;
  /** Signs the WebSocket handshake as Twilio does (X-Twilio-Signature over the URL). */
  authToken: string;
  /** Aborted when the person on the call hangs up: the stream stops. */
  hangup: AbortSignal;
}

/** How a stream ended: the agent closed it (the call goes on to its next verb), the person hung up, or it never opened. */
export type StreamEnd = 'agent-closed' | 'caller-hung-up' | 'failed';

/** 20 ms of 8 kHz mu-law silence: what one `media` message carries. */
const SILENCE_FRAME = Buffer.alloc(160, 0xff).toString('base64');
const FRAME_MS = 20;

/**
 * A Media Streams session as Twilio opens one for `<Connect><Stream>`: `connected`, then `start`
 * with the custom parameters, `media` every 20 ms while the call lasts, and `stop` when the person
 * hangs up. Ends when either side closes.
 */
export function streamMedia(options: MediaStreamOptions): Promise<StreamEnd> {
  return new Promise((resolve) => {
    const streamSid = `MZ${randomBytes(16).toString('hex')}`;
    const socket = new WebSocket(options.url, { headers: { 'x-twilio-signature': signLikeTwilio(options.authToken, options.url, {}) }, handshakeTimeout: 10_000 });
    let sequenceNumber = 0;
    let opened = false;
    let ending: StreamEnd | undefined;
    let timer: NodeJS.Timeout | undefined;
    const startedAt = Date.now();
    const send = (message: Record<string, unknown>) => {
      if (socket.readyState !== WebSocket.OPEN) return;
      sequenceNumber += 1;
      socket.send(JSON.stringify({ ...message, ...(message.event !== 'connected' && { sequenceNumber: String(sequenceNumber), streamSid }) }));
    };
    const hangUp = () => {
      ending ??= 'caller-hung-up';
      if (timer) clearInterval(timer);
      send({ event: 'stop', stop: { accountSid: options.accountSid, callSid: options.callSid } });
      socket.close(1000);
    };

    socket.on('open', () => {
      opened = true;
      send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
      send({
        event: 'start',
        start: {
          streamSid,
          accountSid: options.accountSid,
          callSid: options.callSid,
          tracks: ['inbound'],
          customParameters: options.customParameters,
          mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
      });
      let chunk = 0;
      timer = setInterval(() => {
        chunk += 1;
        send({ event: 'media', media: { track: 'inbound', chunk: String(chunk), timestamp: String(Date.now() - startedAt), payload: SILENCE_FRAME } });
      }, FRAME_MS);
      if (options.hangup.aborted) hangUp();
      else options.hangup.addEventListener('abort', hangUp, { once: true });
    });
    socket.on('close', () => {
      if (timer) clearInterval(timer);
      options.hangup.removeEventListener('abort', hangUp);
      resolve(opened ? (ending ?? 'agent-closed') : 'failed');
    });
    // A refused or broken connection ends in `close` too; the error itself needs no more handling.
    socket.on('error', () => {});
  });
}
