import { Agent, request } from 'node:http';

/** Kept-alive connections: lighter on the bench's side than `fetch`, whose own cost would blur latencies. */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/**
 * POSTs JSON and reads the whole answer, which must be a 201: a response left unread keeps its
 * connection busy, and the API would wait for it when it drains.
 */
export function postJson(url: string, body: unknown): Promise<unknown> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 201) reject(new Error(`POST ${new URL(url).pathname} answered ${response.statusCode}: ${text.slice(0, 200)}`));
        else resolve(JSON.parse(text));
      });
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}
