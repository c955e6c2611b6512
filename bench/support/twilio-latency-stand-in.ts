import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const STAND_IN_ACCOUNT_SID = `AC${'0'.repeat(32)}`;

/**
 * Twilio's REST API as far as dialing needs it, answering after `latencyMs` as a distant carrier
 * would: `POST …/Calls.json` creates a call, any other GET (the account check) answers 200. It notes
 * when each call request arrived, and answers them at `GET /arrivals`.
 */
export async function startTwilioLatencyStandIn(latencyMs: number) {
  const arrivals: number[] = [];
  const server = createServer((request, response) => {
    const arrivedAt = Date.now();
    if (request.method === 'GET' && request.url === '/arrivals') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(arrivals));
      return;
    }
    request.resume();
    request.on('end', () => {
      const creating = request.method === 'POST' && /\/Calls\.json$/.test(request.url ?? '');
      if (creating) arrivals.push(arrivedAt);
      const body = creating
        ? { sid: `CA${randomBytes(16).toString('hex')}`, account_sid: STAND_IN_ACCOUNT_SID, status: 'queued', date_created: new Date().toUTCString() }
        : { sid: STAND_IN_ACCOUNT_SID, status: 'active', friendly_name: 'bench' };
      setTimeout(() => response.writeHead(creating ? 201 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body)), latencyMs);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
