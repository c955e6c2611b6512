import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/** One Media Streams session as an agent's WebSocket server received it. */
export interface ReceivedStream {
  url: string;
  signature: string | undefined;
  messages: Array<{ event: string; [key: string]: unknown }>;
  closed: boolean;
}

/**
 * A voice agent's Media Streams endpoint of the test's own: it accepts every stream, keeps every
 * message, and counts how many streams are open at once.
 */
export async function startAgentStreamServer() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const streams: ReceivedStream[] = [];
  let open = 0;
  let mostOpen = 0;
  server.on('connection', (socket, request) => {
    const stream: ReceivedStream = { url: `ws://127.0.0.1:${port}${request.url}`, signature: request.headers['x-twilio-signature'] as string | undefined, messages: [], closed: false };
    streams.push(stream);
    open += 1;
    mostOpen = Math.max(mostOpen, open);
    socket.on('message', (data) => stream.messages.push(JSON.parse(String(data))));
    socket.on('close', () => {
      open -= 1;
      stream.closed = true;
    });
  });
  return {
    url: `ws://127.0.0.1:${port}/media`,
    streams,
    /** The most streams that were open at the same time. */
    mostOpen: () => mostOpen,
    /** The `start` message of the stream of `callSid`. */
    startOf(callSid: string) {
      const stream = streams.find((candidate) => candidate.messages.some((message) => message.event === 'start' && (message.start as { callSid: string }).callSid === callSid));
      return stream?.messages.find((message) => message.event === 'start') as { start: { callSid: string; customParameters: Record<string, string>; mediaFormat: object } } | undefined;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type AgentStreamServer = Awaited<ReturnType<typeof startAgentStreamServer>>;
