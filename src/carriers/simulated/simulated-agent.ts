import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../logger.js';
import { isSignedByTwilio } from '../twilio/twilio-signature.js';
import { SIMULATED_AGENT_STREAM_PATH, simulatedAgentStreamUrl } from '../twilio/webhook-paths.js';

/** One call the simulated agent took: what it was told, and how the call went. */
export interface SimulatedAgentSession {
  callSid: string;
  streamSid: string;
  /** `stream`: a `<Connect><Stream>` call; `dial`: a call bridged to the agent's SIP target (its X- headers as parameters). */
  connectedBy: 'stream' | 'dial';
  /** The custom parameters of the stream's `start` message: the lead's context. */
  parameters: Record<string, string>;
  startedAt: string;
  endedAt: string | null;
  /** `media` messages received: the caller's audio. */
  mediaMessages: number;
  /** Whether the end-of-call report reached the service. */
  endOfCallReport: 'sent' | 'failed' | null;
}

export interface SimulatedAgentOptions {
  /** This API's base URL: where the end-of-call report goes, and (as ws://) the URL streams are signed for. */
  apiBaseUrl: string;
  /** Media Streams handshakes are signed with the carrier's token (X-Twilio-Signature), as Twilio's are. */
  authToken: string;
  /** Sent as x-vapi-secret with the end-of-call report, when the service expects one. */
  endOfCallSecret?: string;
  logger: Logger;
}

const KEPT_SESSIONS = 200;
const END_OF_CALL_PATH = '/webhooks/agent/end-of-call';

/**
 * A stand-in voice agent for `npm start` with no agent configured: it takes streamed and bridged
 * calls over Media Streams, records the context each carried, listens until the call ends, and
 * sends the end-of-call report a voice-AI platform sends, which frees the call's slot.
 */
export function createSimulatedAgent(options: SimulatedAgentOptions) {
  const server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sessions: SimulatedAgentSession[] = [];
  const reporting = new Set<Promise<void>>();
  const streamBase = simulatedAgentStreamUrl(options.apiBaseUrl).slice(0, -SIMULATED_AGENT_STREAM_PATH.length);

  const report = async (session: SimulatedAgentSession) => {
    const started = Date.parse(session.startedAt);
    try {
      const response = await fetch(`${options.apiBaseUrl.replace(/\/+$/, '')}${END_OF_CALL_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.endOfCallSecret && { 'x-vapi-secret': options.endOfCallSecret }) },
        body: JSON.stringify({
          message: {
            type: 'end-of-call-report',
            call: { id: session.streamSid, phoneCallProviderId: session.callSid },
            durationSeconds: Math.max(0, Math.round((Date.now() - started) / 1000)),
            endedReason: 'customer-ended-call',
          },
        }),
      });
      session.endOfCallReport = response.ok ? 'sent' : 'failed';
    } catch {
      session.endOfCallReport = 'failed';
    }
    if (session.endOfCallReport === 'failed') options.logger.warn({ callSid: session.callSid }, 'simulated agent could not send its end-of-call report');
  };

  const take = (socket: WebSocket, connectedBy: SimulatedAgentSession['connectedBy']) => {
    let session: SimulatedAgentSession | undefined;
    const end = () => {
      if (!session || session.endedAt) return;
      session.endedAt = new Date().toISOString();
      const sent = report(session);
      reporting.add(sent);
      void sent.finally(() => reporting.delete(sent));
    };
    socket.on('message', (data) => {
      let message: { event?: string; start?: { callSid?: string; streamSid?: string; customParameters?: Record<string, string> } };
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      if (message.event === 'start' && message.start && !session) {
        session = {
          callSid: String(message.start.callSid ?? ''),
          streamSid: String(message.start.streamSid ?? ''),
          connectedBy,
          parameters: { ...message.start.customParameters },
          startedAt: new Date().toISOString(),
          endedAt: null,
          mediaMessages: 0,
          endOfCallReport: null,
        };
        sessions.unshift(session);
        sessions.length = Math.min(sessions.length, KEPT_SESSIONS);
        options.logger.info({ callSid: session.callSid, connectedBy, parameters: Object.keys(session.parameters) }, 'simulated agent took a call');
      } else if (message.event === 'media' && session) {
        session.mediaMessages += 1;
      } else if (message.event === 'stop') {
        end();
      }
    });
    socket.on('close', end);
  };

  return {
    /** Takes a WebSocket upgrade for the agent's stream path, signed like Twilio's; false for any other path. */
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      const url = new URL(request.url ?? '/', 'ws://agent');
      if (url.pathname !== SIMULATED_AGENT_STREAM_PATH) return false;
      const signature = request.headers['x-twilio-signature'];
      const signed = isSignedByTwilio({ authToken: options.authToken, publicBaseUrl: streamBase, requestUrl: request.url ?? '', signature: typeof signature === 'string' ? signature : undefined, params: {} });
      if (!signed) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return true;
      }
      server.handleUpgrade(request, socket, head, (webSocket) => take(webSocket, url.searchParams.get('leg') === 'dial' ? 'dial' : 'stream'));
      return true;
    },
    /** The calls it took, newest first (the last 200). */
    sessions: (): SimulatedAgentSession[] => sessions.map((session) => ({ ...session, parameters: { ...session.parameters } })),
    async close() {
      for (const client of server.clients) client.terminate();
      await Promise.all([...reporting]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type SimulatedAgent = ReturnType<typeof createSimulatedAgent>;
