import { Agent, request } from 'node:http';

const hex = (char: string, upper: boolean) => {
  const code = char.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? code.toUpperCase() : code}`;
};

/**
 * The ways a client can spell one path: percent-encoded letters (either hex case), encoded slashes,
 * doubled slashes, dot segments (plain and encoded), case changes, trailing slashes, `;` parameters,
 * backslashes, a query and a fragment. Some reach the route, some reach nothing; none may get past
 * the route's access rule.
 */
export function spellingsOf(path: string): string[] {
  const segments = path.split('/').slice(1);
  const join = (parts: string[], separator = '/') => `/${parts.join(separator)}`;
  const spellings = new Set<string>([path]);

  segments.forEach((segment, index) => {
    const letter = segment.search(/[a-z]/i);
    if (letter < 0) return;
    for (const upper of [false, true]) {
      const encoded = segment.slice(0, letter) + hex(segment[letter]!, upper) + segment.slice(letter + 1);
      spellings.add(join(segments.map((part, i) => (i === index ? encoded : part))));
    }
  });
  spellings.add(path.replace(/[a-z]/gi, (char) => hex(char, false)));
  spellings.add(path.replace(/[a-z]/gi, (char) => hex(char, true)));
  spellings.add(`/${segments.join('%2F')}`);
  spellings.add(`/${segments.join('%2f')}`);
  spellings.add(`/${segments.join('\\')}`);
  spellings.add(`/${path}`);
  spellings.add(join(segments, '//'));
  spellings.add(`${path}//`);
  spellings.add(`/.${path}`);
  spellings.add(`/%2e${path}`);
  spellings.add(`/%2E${path}`);
  spellings.add(`/x/..${path}`);
  spellings.add(`/x/%2e%2e${path}`);
  spellings.add(`/x/%2E%2E${path}`);
  spellings.add(`/x%2f..${path}`);
  spellings.add(join([segments[0]!, '.', ...segments.slice(1)]));
  spellings.add(join([segments[0]!, 'x', '..', ...segments.slice(1)]));
  spellings.add(path.toUpperCase());
  spellings.add(join([segments[0]!.toUpperCase(), ...segments.slice(1)]));
  spellings.add(`${path}/`);
  spellings.add(`${path}/.`);
  spellings.add(`${path};`);
  spellings.add(`${path};x=1`);
  spellings.add(join([`${segments[0]};x=1`, ...segments.slice(1)]));
  spellings.add(`${path}?x=1`);
  spellings.add(`${path}?`);
  spellings.add(`${path}#x`);
  spellings.add(`${path}?x=1#y`);
  spellings.add(`${path}%20`);
  spellings.add(`${path}%00`);
  spellings.add(`${path}%`);
  return [...spellings];
}

export interface RawAnswer {
  status: number;
  body: string;
}

/**
 * Sends a request with its path exactly as given (no client normalises it) over real HTTP.
 */
export function createRawClient(baseUrl: string) {
  const { hostname, port } = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  return {
    send(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<RawAnswer> {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const outgoing = request(
          {
            agent,
            host: hostname,
            port: Number(port),
            method,
            path,
            headers: { ...headers, ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }) },
          },
          (response) => {
            const chunks: Buffer[] = [];
            // A stream of events never ends: its first event is its answer.
            if (String(response.headers['content-type']).startsWith('text/event-stream')) {
              response.once('data', (chunk: Buffer) => {
                resolve({ status: response.statusCode ?? 0, body: chunk.toString('utf8') });
                response.destroy();
              });
              return;
            }
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
            response.on('error', reject);
          },
        );
        outgoing.on('error', reject);
        outgoing.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Runs `work` over `items`, `concurrency` at a time. */
export async function inBatches<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}
