import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { IMPORT_CHUNK_ROWS } from '../src/campaigns/contact-import.js';
import { until } from './helpers/callbacks.js';
import { freePort } from './helpers/free-port.js';
import { testEnv } from './helpers/harness.js';
import { spawnEntry, type SpawnedProcess } from './helpers/spawn-process.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startApi(env: Record<string, string>): Promise<SpawnedProcess> {
  const api = spawnEntry('src/server.ts', env);
  cleanups.push(async () => {
    api.kill('SIGKILL');
    await api.exited;
  });
  await api.waitForLog(/Server listening/);
  return api;
}

const ROWS = 40 * IMPORT_CHUNK_ROWS;
/** Every tenth row has no number; every other row is a distinct number. */
const line = (index: number) => (index % 10 === 9 ? `,row-${index}` : `+1415${String(2_000_000 + index)},row-${index}`);

/** Sends the header and the first `rows` rows, and keeps the upload open (the process dies before it ends). */
function startUpload(port: number, path: string, rows: number) {
  const upload = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } });
  upload.on('error', () => {});
  upload.write('number,name\n');
  for (let index = 0; index < rows; index += 500) upload.write(`${Array.from({ length: Math.min(500, rows - index) }, (_, offset) => line(index + offset)).join('\n')}\n`);
  return upload;
}

describe('a CSV import when the API dies during it', () => {
  it('resumes after its last committed chunk when the same file is sent again with the same import id, adding no contact twice', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const env = { ...testEnv(), PORT: String(port), LOG_LEVEL: 'info' };
    const base = `http://127.0.0.1:${port}`;
    const api = await startApi(env);
    const created = (await (await fetch(`${base}/api/campaigns`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'big list', message: 'Hello' }) })).json()) as { campaign: { id: string } };
    const id = created.campaign.id as string;
    const path = `/api/campaigns/${id}/contacts/csv?importId=big-list`;
    const progress = async () => ((await (await fetch(`${base}/api/campaigns/${id}/imports/big-list`)).json()) as { import: Record<string, number | string> }).import;

    startUpload(port, path, ROWS / 2);
    const before = await until(progress, (state) => Number(state?.line) > 5 * IMPORT_CHUNK_ROWS, 20_000);
    expect(before.status).toBe('running');
    api.kill('SIGKILL');
    await api.exited;

    await startApi(env);
    const committed = await progress();
    expect(committed.line).toBeGreaterThan(0);
    expect(Number(committed.line) % IMPORT_CHUNK_ROWS).toBeLessThanOrEqual(1);
    const answer = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `number,name\n${Array.from({ length: ROWS }, (_, index) => line(index)).join('\n')}\n` });
    expect(answer.status).toBe(200);
    const result = ((await answer.json()) as { import: unknown }).import;
    expect(result).toMatchObject({ status: 'completed', line: ROWS + 1, accepted: ROWS * 0.9, rejected: ROWS * 0.1, rejectedByReason: { 'missing-number': ROWS * 0.1 } });
    const { campaign } = (await (await fetch(`${base}/api/campaigns/${id}`)).json()) as { campaign: { progress: unknown } };
    expect(campaign.progress).toMatchObject({ contacts: ROWS * 0.9, pending: ROWS * 0.9 });
  });

  it('ends as failed, not hanging, when the client goes away mid-upload, and resumes from there', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const env = { ...testEnv(), PORT: String(port), LOG_LEVEL: 'info' };
    const base = `http://127.0.0.1:${port}`;
    await startApi(env);
    const created = (await (await fetch(`${base}/api/campaigns`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'dropped', message: 'Hello' }) })).json()) as { campaign: { id: string } };
    const id = created.campaign.id;
    const path = `/api/campaigns/${id}/contacts/csv?importId=dropped`;
    const progress = async () => ((await (await fetch(`${base}/api/campaigns/${id}/imports/dropped`)).json()) as { import: Record<string, number | string> }).import;

    const upload = startUpload(port, path, ROWS / 2);
    await until(progress, (state) => Number(state?.line) > 5 * IMPORT_CHUNK_ROWS, 20_000);
    upload.destroy();
    const failed = await until(progress, (state) => state?.status === 'failed', 10_000);
    expect(Number(failed.accepted)).toBeGreaterThan(0);

    const answer = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `number,name\n${Array.from({ length: ROWS }, (_, index) => line(index)).join('\n')}\n` });
    expect(((await answer.json()) as { import: unknown }).import).toMatchObject({ status: 'completed', accepted: ROWS * 0.9, rejected: ROWS * 0.1 });
  });
});
