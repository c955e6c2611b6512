import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { parse } from 'csv-parse';
import type { Carrier } from '../../src/carriers/carrier.js';
import { createCarrier } from '../../src/carriers/create-carrier.js';
import { createCore } from '../../src/core.js';
import { createLogger } from '../../src/logger.js';
import { startCallWorker } from '../../workers/calls/call-worker.js';
import { freePort } from '../../test/helpers/free-port.js';
import type { BenchContext } from '../support/context.js';
import { concurrently, until } from '../support/load.js';
import { startApiProcess } from '../support/processes.js';
import { percentile } from '../support/report.js';

const silent = createLogger('silent');

/** Answers a request's status and JSON body, whatever the status. */
function send(url: string, method: string, body?: string | NodeJS.ReadableStream, contentType = 'application/json'): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers: { ...(body !== undefined && { 'content-type': contentType }), ...(typeof body === 'string' && { 'content-length': Buffer.byteLength(body) }) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    if (body === undefined || typeof body === 'string') outgoing.end(body);
    else body.pipe(outgoing);
  });
}

const createCampaign = async (base: string, name: string) => {
  const { status, json } = await send(`${base}/api/campaigns`, 'POST', JSON.stringify({ name, message: 'Hello {{first_name}}' }));
  if (status !== 201) throw new Error(`campaign not created: ${status} ${JSON.stringify(json)}`);
  return (json.campaign as { id: string }).id;
};

async function usedMemory(ctx: BenchContext): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await ctx.redis.info('memory'))![1]);
}

/** A CSV of `rows` contacts, written a block at a time. */
async function writeCsv(file: string, rows: number) {
  const out = createWriteStream(file);
  out.write('number,first_name,crm_id\n');
  for (let from = 0; from < rows; from += 10_000) {
    const block = Array.from({ length: Math.min(10_000, rows - from) }, (_, offset) => `+1415${2_000_000 + from + offset},Name${from + offset},crm-${from + offset}`).join('\n');
    if (!out.write(`${block}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** The CSV import: rows a second through the API, its peak memory, and what a contact takes in Redis; raw: csv-parse alone reading the same file. */
async function csvImport(ctx: BenchContext) {
  const rows = ctx.quick ? 50_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-csv-'));
  const file = join(dir, 'contacts.csv');
  try {
    await writeCsv(file, rows);
    let parsed = 0;
    let started = performance.now();
    for await (const _record of createReadStream(file).pipe(parse({ columns: true }))) parsed += 1;
    const rawRate = parsed / ((performance.now() - started) / 1000);

    // An API process of its own, so its peak memory is the import's.
    const port = await freePort();
    const api = await startApiProcess({ ...ctx.env, PORT: String(port) });
    try {
      const base = `http://127.0.0.1:${port}`;
      const id = await createCampaign(base, 'csv');
      const before = await usedMemory(ctx);
      started = performance.now();
      const { status, json } = await send(`${base}/api/campaigns/${id}/contacts/csv?variableColumns=first_name&leadIdColumn=crm_id`, 'POST', createReadStream(file), 'text/csv');
      const seconds = (performance.now() - started) / 1000;
      const imported = json.import as { accepted: number } | undefined;
      if (status !== 200 || imported?.accepted !== rows) throw new Error(`import answered ${status}: ${JSON.stringify(json).slice(0, 300)}`);
      const bytesPerContact = ((await usedMemory(ctx)) - before) / rows;
      const scenario = `a ${rows.toLocaleString('en')}-row CSV imported into a campaign`;
      ctx.report.record({ scenario, metric: 'rows imported', raw: rawRate, service: rows / seconds, unit: 'rows/s', note: 'target >= 20,000 (ratio against it); raw: csv-parse alone reading the file' }, { against: 20_000 });
      ctx.report.record({ scenario, metric: "API process's peak memory", raw: 250, service: api.peakMemoryBytes() / 2 ** 20, unit: 'MiB', note: 'target < 250 MiB (ratio: the target ÷ service); the upload is streamed, never held whole' }, { lowerIsBetter: true, against: 250 });
      ctx.report.record({ scenario, metric: 'Redis bytes per contact', raw: 0, service: bytesPerContact, unit: 'B', note: 'the contact, its state and its place in the list; no ratio' }, { lowerIsBetter: true, against: bytesPerContact });
    } finally {
      await api.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 100,000 contacts (30,000 in quick mode) appended 1,000 a request, each request sent twice: contacts a second, and the jobs they make (exactly one each). */
async function chunksSentTwice(ctx: BenchContext) {
  const chunkSize = 1_000;
  const chunks = Array.from({ length: ctx.quick ? 30 : 100 }, (_, chunk) =>
    JSON.stringify({ contacts: Array.from({ length: chunkSize }, (_, offset) => ({ to: `+1212${3_000_000 + chunk * chunkSize + offset}`, contactId: `c-${chunk * chunkSize + offset}` })) }),
  );
  const contacts = chunks.length * chunkSize;

  // Raw: the same contacts as BullMQ jobs, added once, 1,000 a request.
  const rawStarted = performance.now();
  for (let chunk = 0; chunk < chunks.length; chunk += 1) {
    await ctx.rawQueue.addBulk(Array.from({ length: chunkSize }, (_, offset) => ({ name: 'call', data: { to: `+1212${3_000_000 + chunk * chunkSize + offset}`, message: 'Hello' }, opts: { jobId: `c-${chunk * chunkSize + offset}` } })));
  }
  const rawRate = contacts / ((performance.now() - rawStarted) / 1000);

  const id = await createCampaign(ctx.api.url, 'chunks');
  let added = 0;
  const sent = await concurrently(chunks.length * 2, 8, async (index) => {
    const { status, json } = await send(`${ctx.api.url}/api/campaigns/${id}/contacts`, 'POST', chunks[index % chunks.length]);
    if (status !== 200) throw new Error(`contacts answered ${status}`);
    added += json.added as number;
  });
  // Started with no worker: every contact fed to the queue at once, to count the jobs they make.
  await send(`${ctx.api.url}/api/campaigns/${id}/start`, 'POST');
  const core = createCore(ctx.config({ CAMPAIGN_HOPPER_SIZE: String(contacts) }), { redis: ctx.redis, logger: silent });
  try {
    while ((await core.campaignFeeder.feedOnce()) > 0);
  } finally {
    await core.close();
  }
  const jobs = Object.values(await ctx.serviceQueue.getJobCounts()).reduce((sum, count) => sum + count, 0);
  if (added !== contacts || jobs !== contacts) throw new Error(`${added} contacts added and ${jobs} jobs made of ${contacts}`);
  const scenario = `${contacts.toLocaleString('en')} contacts in ${chunks.length} requests, each sent twice`;
  ctx.report.record({ scenario, metric: 'contacts appended', raw: rawRate, service: sent.perSecond * chunkSize, unit: 'contacts/s', note: 'every request twice; raw: BullMQ addBulk of the same contacts once, in-process' });
  ctx.report.record({ scenario, metric: 'jobs made', raw: contacts, service: jobs, unit: 'jobs', note: 'exactly one per contact (checked)' }, { against: contacts });
}

/** Per-campaign pause: from the request to the campaign's last dial handed to the carrier, over repeated pauses at 100 dials a second. */
async function pauseLatency(ctx: BenchContext) {
  const pauses = ctx.quick ? 5 : 20;
  const sends: Array<{ at: number; to: string }> = [];
  const config = ctx.config({ CALL_RATE_MAX: '100', CALL_RATE_WINDOW_MS: '1000', CALL_WORKER_CONCURRENCY: '20', MAX_CONCURRENT_CALLS: '1000000', SIMULATED_TIME_SCALE: '0.001', REDIAL_ON: 'none' });
  const carrier = createCarrier(config, silent);
  const noting: Carrier = Object.assign(Object.create(carrier) as Carrier, {
    placeCall: (call: Parameters<Carrier['placeCall']>[0]) => {
      sends.push({ at: Date.now(), to: call.to });
      return carrier.placeCall(call);
    },
  });
  const worker = await startCallWorker(config, silent, noting);
  try {
    const id = await createCampaign(ctx.api.url, 'paused');
    for (let chunk = 0; chunk < 10; chunk += 1) {
      const contacts = Array.from({ length: 1_000 }, (_, offset) => ({ to: `+1303${4_000_000 + chunk * 1_000 + offset}` }));
      await send(`${ctx.api.url}/api/campaigns/${id}/contacts`, 'POST', JSON.stringify({ contacts }));
    }
    await send(`${ctx.api.url}/api/campaigns/${id}/start`, 'POST');
    const latencies: number[] = [];
    for (let round = 0; round < pauses; round += 1) {
      const from = sends.length;
      await until(() => sends.length >= from + 50, 'dials before a pause', 30_000, 10);
      const pausedAt = Date.now();
      await send(`${ctx.api.url}/api/campaigns/${id}/pause`, 'POST');
      // Long enough for any dial already past its last check to arrive.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const after = sends.filter((entry) => entry.at >= pausedAt);
      latencies.push(after.length === 0 ? 0 : Math.max(...after.map((entry) => entry.at)) - pausedAt);
      await send(`${ctx.api.url}/api/campaigns/${id}/resume`, 'POST');
    }
    ctx.report.record(
      { scenario: `a campaign paused ${pauses} times at 100 dials/s`, metric: 'last dial after the pause, p99', raw: 1_000, service: percentile(latencies, 99), unit: 'ms', note: `target < 1,000 ms; p50 ${Math.round(percentile(latencies, 50))} ms; ratio: the target ÷ service` },
      { lowerIsBetter: true, against: 1_000 },
    );
  } finally {
    await worker.close();
  }
}

/** Campaigns: CSV import rate and memory, chunks sent twice making one job per contact, and how soon a pause stops the dials. */
export async function campaigns(ctx: BenchContext) {
  await ctx.flush();
  await csvImport(ctx);
  await ctx.flush();
  await chunksSentTwice(ctx);
  await ctx.flush();
  await pauseLatency(ctx);
}
