import autocannon from 'autocannon';
import { freePort } from '../../test/helpers/free-port.js';
import { aCall, type BenchContext } from '../support/context.js';
import { lineFrom, startApiProcess, startNodeProcess, type NodeProcess } from '../support/processes.js';

const API_KEY = 'bench-peers-key-0123456789';

/** A seed-002 body, as a CRM sends it. */
const body = JSON.stringify({ ...aCall, lead_id: 'lead-1', metadata: { crm: 'bench' } });

const load = (url: string, connections: number, seconds: number, headers: Record<string, string> = {}) =>
  autocannon({ url: `${url}/api/queue/schedule-call`, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, connections, duration: seconds });

async function startPeer(script: string, env: Record<string, string>): Promise<NodeProcess & { url: string }> {
  const port = await freePort();
  const peer = startNodeProcess(script, { ...env, PORT: String(port) });
  await lineFrom(peer, (line) => line === 'ready', script);
  return { ...peer, url: `http://127.0.0.1:${port}` };
}

/**
 * What a user would pick instead, on the same Redis, each as its own process: an Express + BullMQ
 * service written as seed 002 describes it, a Fastify + BullMQ one with a JSON schema, and an empty
 * Fastify route (the floor of HTTP here). The service runs with an API key (checked per request), its
 * per-key rate limit counted in Redis, number validation and metrics, all of which the peers skip.
 */
export async function peers(ctx: BenchContext) {
  const seconds = ctx.quick ? 3 : 10;
  const port = await freePort();
  const service = await startApiProcess({ ...ctx.env, PORT: String(port), API_KEYS: API_KEY, API_RATE_LIMIT_MAX: '100000000' });
  const express = await startPeer('bench/peers/express-service.ts', { REDIS_URL: ctx.redisUrl, PREFIX: 'express-peer' });
  const fastify = await startPeer('bench/peers/fastify-service.ts', { REDIS_URL: ctx.redisUrl, PREFIX: 'fastify-peer' });
  const empty = await startPeer('bench/raw/empty-route.ts', {});
  const auth = { authorization: `Bearer ${API_KEY}` };
  try {
    // Each warms up first: the first second of a fresh process measures its compiler.
    for (const [url, headers] of [[service.url, auth], [express.url, {}], [fastify.url, {}], [empty.url, {}]] as const) await load(url, 10, 1, headers);
    for (const connections of [10, 100]) {
      await ctx.flush();
      const ours = await load(service.url, connections, seconds, auth);
      const theirs = { express: await load(express.url, connections, seconds), fastify: await load(fastify.url, connections, seconds), empty: await load(empty.url, connections, seconds) };
      for (const [name, result] of [['service', ours], ...Object.entries(theirs)] as const) {
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`peers: ${name} gave ${result.non2xx} non-2xx answers and ${result.errors} errors`);
      }
      const scenario = `schedule-call, ${connections} in flight`;
      const rate = ours.requests.average;
      ctx.report.record({ scenario, metric: 'vs Express + BullMQ (seed 002)', raw: theirs.express.requests.average, service: rate, unit: '/s', note: `target >= 1.5; p50/p99 service ${ours.latency.p50}/${ours.latency.p99} ms, Express ${theirs.express.latency.p50}/${theirs.express.latency.p99} ms` });
      ctx.report.record({ scenario, metric: 'vs Fastify + BullMQ + schema', raw: theirs.fastify.requests.average, service: rate, unit: '/s', note: `target >= 1.0; Fastify peer p50/p99 ${theirs.fastify.latency.p50}/${theirs.fastify.latency.p99} ms` });
      ctx.report.record({ scenario, metric: 'vs an empty Fastify route', raw: theirs.empty.requests.average, service: rate, unit: '/s', note: `target >= 0.4; empty route p50/p99 ${theirs.empty.latency.p50}/${theirs.empty.latency.p99} ms` });
    }
  } finally {
    await Promise.all([service.stop(), express.stop(), fastify.stop(), empty.stop()]);
  }
}
