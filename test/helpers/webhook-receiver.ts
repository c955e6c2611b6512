import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';

export interface ReceivedEvent {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  id: string;
  type: string;
  at: number;
  /** What the receiver answered. */
  status: number;
  verified: boolean;
}

export type Answer = number | { status: number; headers?: Record<string, string>; delayMs?: number };

/**
 * A CRM's receiver: a real HTTP server that verifies every request with the Standard Webhooks
 * library and the subscription's secret, keeps what it accepted (deduplicated by id, as the
 * specification asks), and answers as the test says.
 */
export async function startWebhookReceiver(options: { answer?: (event: ReceivedEvent, nth: number) => Answer; port?: number } = {}) {
  let secrets: string[] = [];
  const accepted = new Map<string, ReceivedEvent>();
  const requests: ReceivedRequest[] = [];
  const order: ReceivedEvent[] = [];
  const seenTimes = new Map<string, number>();
  let badSignatures = 0;
  let answer = options.answer ?? (() => 204);
  const waiters = new Set<() => void>();
  const sockets = new Set<import('node:net').Socket>();

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      const event = secrets.map((secret) => verify(secret, body, headers)).find((each) => each !== undefined);
      if (!event) {
        badSignatures += 1;
        response.writeHead(401).end();
        return;
      }
      const nth = (seenTimes.get(event.id) ?? 0) + 1;
      seenTimes.set(event.id, nth);
      const given = answer(event, nth);
      const { status, headers: extra = {}, delayMs = 0 } = typeof given === 'number' ? { status: given } : given;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      requests.push({ id: event.id, type: event.type, at: Date.now(), status, verified: true });
      if (status >= 200 && status < 300 && !accepted.has(event.id)) {
        accepted.set(event.id, event);
        order.push(event);
      }
      if (!response.destroyed) response.writeHead(status, extra).end();
      for (const wake of waiters) wake();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/hooks/switchboard`,
    port,
    /** The secrets requests must be signed with (any one of them). */
    trust(...given: string[]) {
      secrets = given;
    },
    answerWith(next: (event: ReceivedEvent, nth: number) => Answer) {
      answer = next;
    },
    /** Accepted events, each once, in the order they were first accepted. */
    get events() {
      return order;
    },
    get requests() {
      return requests;
    },
    get badSignatures() {
      return badSignatures;
    },
    /** Resolves once `done` holds, checked after every request (no polling). */
    waitFor(done: () => boolean, timeoutMs = 20_000, what = 'events'): Promise<void> {
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what} not received within ${timeoutMs} ms: ${order.length} accepted, ${requests.length} requests`));
        }, timeoutMs);
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    /** Stops listening and drops open connections: the receiver is down. */
    async stop() {
      const closed = once(server, 'close');
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    /** Listens again on the same port. */
    async restart() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

function verify(secret: string, body: string, headers: Record<string, string>): ReceivedEvent | undefined {
  try {
    return new Webhook(secret).verify(body, headers) as ReceivedEvent;
  } catch {
    return undefined;
  }
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

/** Subscribes the receiver through the API and trusts the secret it was given. */
export async function subscribeReceiver(app: Pick<FastifyInstance, 'inject'>, receiver: WebhookReceiver, body: Record<string, unknown> = {}) {
  const response = await app.inject({ method: 'POST', url: '/api/webhooks', payload: { url: receiver.url, ...body } });
  if (response.statusCode !== 201) throw new Error(`subscription refused: ${response.statusCode} ${response.body}`);
  const { webhook, secret } = response.json() as { webhook: { id: string }; secret: string };
  receiver.trust(secret);
  return { id: webhook.id, secret };
}
