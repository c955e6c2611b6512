import autocannon from 'autocannon';
import { freePort } from '../../test/helpers/free-port.js';
import { barChart } from '../support/charts.js';
import { aCall, type BenchContext } from '../support/context.js';
import { lineFrom, startApiProcess, startNodeProcess, type NodeProcess } from '../support/processes.js';

const API_KEY = 'bench-peers-key-0123456789';

/** A seed-002 body, as a CRM sends it. */
const body = JSON.stringify({ ...aCall, lead_id: 'lead-1', metadata: { crm: 'bench' } });

const load = (url: string, connections: number, seconds: number, headers: Record<string, string> = {}) =>
  autocannon({ url: `${url}/api/queue/schedule-call`, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, connections, duration: seconds });

const latency = (result: autocannon.Result) => `${result.latency.p50}/${result.latency.p99} ms`;

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
  // Runs take turns, in a rotating order, and each figure is the median round: on a shared machine
  // one run can be a fifth off the next.
  const rounds = 3;
  const seconds = ctx.quick ? 1 : 5;
  const port = await freePort();
  const [service, express, fastify, empty] = await Promise.all([
    startApiProcess({ ...ctx.env, PORT: String(port), API_KEYS: API_KEY, API_RATE_LIMIT_MAX: '100000000' }),
    startPeer('bench/peers/express-service.ts', { REDIS_URL: ctx.redisUrl, PREFIX: 'express-peer' }),
    startPeer('bench/peers/fastify-service.ts', { REDIS_URL: ctx.redisUrl, PREFIX: 'fastify-peer' }),
    startPeer('bench/raw/empty-route.ts', {}),
  ]);
  const targets = [
    { name: 'service', url: service.url, headers: { authorization: `Bearer ${API_KEY}` } },
    { name: 'express', url: express.url, headers: {} },
    { name: 'fastify', url: fastify.url, headers: {} },
    { name: 'empty', url: empty.url, headers: {} },
  ] as const;
  type Name = (typeof targets)[number]['name'];
  const measured: Array<{ connections: number; results: Record<Name, autocannon.Result> }> = [];
  try {
    // Each warms up first: the first second of a fresh process measures its compiler.
    for (const target of targets) await load(target.url, 100, 1, target.headers);
    for (const connections of [10, 100]) {
      const runs = Object.fromEntries(targets.map((target) => [target.name, [] as autocannon.Result[]])) as Record<Name, autocannon.Result[]>;
      for (let round = 0; round < rounds; round += 1) {
        for (const index of targets.keys()) {
          const target = targets[(index + round) % targets.length]!;
          await ctx.flush();
          const result = await load(target.url, connections, seconds, target.headers);
          if (result.non2xx > 0 || result.errors > 0) throw new Error(`peers: ${target.name} gave ${result.non2xx} non-2xx answers and ${result.errors} errors`);
          runs[target.name].push(result);
        }
      }
      const median = (name: Name) => [...runs[name]].sort((a, b) => a.requests.average - b.requests.average)[Math.floor(rounds / 2)]!;
      const [ours, theirs] = [median('service'), { express: median('express'), fastify: median('fastify'), empty: median('empty') }];
      measured.push({ connections, results: { service: ours, ...theirs } });
      const scenario = `schedule-call, ${connections} in flight`;
      const rate = ours.requests.average;
      ctx.report.record({ scenario, metric: 'vs Express + BullMQ (seed 002)', raw: theirs.express.requests.average, service: rate, unit: '/s', note: `target >= 1.5; p50/p99 service ${latency(ours)}, Express ${latency(theirs.express)}` });
      ctx.report.record({ scenario, metric: 'vs Fastify + BullMQ + schema', raw: theirs.fastify.requests.average, service: rate, unit: '/s', note: `target >= 1.0; Fastify peer p50/p99 ${latency(theirs.fastify)}` });
      ctx.report.record({ scenario, metric: 'vs an empty Fastify route', raw: theirs.empty.requests.average, service: rate, unit: '/s', note: `target >= 0.4; empty route p50/p99 ${latency(theirs.empty)}` });
    }
  } finally {
    await Promise.all([service.stop(), express.stop(), fastify.stop(), empty.stop()]);
  }
  const labels: Record<Name, string> = { service: 'the service', express: 'Express + BullMQ', fastify: 'Fastify + BullMQ + schema', empty: 'empty Fastify route' };
  const cell = (result: autocannon.Result) => `${Math.round(result.requests.average).toLocaleString('en')}/s (${latency(result)})`;
  const ratio = (ours: autocannon.Result, theirs: autocannon.Result) => `${(ours.requests.average / theirs.requests.average).toFixed(2)} ×`;
  ctx.report.section({
    title: 'Against a hand-written service',
    intro:
      `\`POST /api/queue/schedule-call\` with seed 002's body, each server its own process on the same Redis, autocannon from the bench's process; requests/s with p50/p99 latency, the median of ${rounds} rounds of ${seconds} s taken in turns. ` +
      'The service runs with an API key, its per-key rate limit, number validation, the calling-window check and metrics; the peers do a `queue.add` with the same job options (priority, 3 attempts, exponential backoff). ' +
      'Targets: ≥ 1.5 × Express, ≥ 1.0 × the Fastify peer, ≥ 0.4 × the empty route.',
    header: ['In flight', ...targets.map(({ name }) => labels[name]), '÷ Express', '÷ Fastify peer', '÷ empty route'],
    rows: measured.map(({ connections, results }) => [
      String(connections),
      ...targets.map(({ name }) => cell(results[name])),
      ratio(results.service, results.express),
      ratio(results.service, results.fastify),
      ratio(results.service, results.empty),
    ]),
    chart: {
      file: 'bench-peers.svg',
      svg: barChart({
        title: 'schedule-call, requests/s',
        yLabel: 'requests/s',
        groups: measured.map(({ connections }) => `${connections} in flight`),
        series: targets.map(({ name }) => ({ name: labels[name], values: measured.map(({ results }) => results[name].requests.average) })),
      }),
    },
  });
}
