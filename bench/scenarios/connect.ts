import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { connectSettings } from '../../src/connect/connect-settings.js';
import { connectTwiml } from '../../src/connect/connect-plan.js';
import type { CallJobData } from '../../src/jobs/call-jobs.js';
import { createLogger } from '../../src/logger.js';
import { startCallWorker } from '../../workers/calls/call-worker.js';
import { aCall, type BenchContext } from '../support/context.js';
import { until } from '../support/load.js';

/** Microseconds per call of `build`, over `iterations` calls after a warm-up. */
function microsPer(iterations: number, build: () => string): number {
  for (let index = 0; index < 200; index++) build();
  const started = performance.now();
  for (let index = 0; index < iterations; index++) build();
  return ((performance.now() - started) * 1000) / iterations;
}

/**
 * What reaching the voice agent costs: the TwiML of a stream call carrying the lead's context beside
 * a plain <Say>, and stream calls through the agent's slots to a Media Streams endpoint, the
 * simulated carrier playing them.
 */
export async function connect(ctx: BenchContext) {
  const settings = connectSettings(ctx.config());
  const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`field${index}`, `value ${index} & <more>`]));
  const say: CallJobData = { ...aCall, connect: 'say' };
  const stream: CallJobData = { ...aCall, connect: 'stream', streamUrl: 'wss://agent.example.com/media', lead_id: '123', metadata };
  const iterations = ctx.quick ? 2_000 : 20_000;
  ctx.report.record(
    {
      scenario: 'TwiML of one dial (50 metadata fields)',
      metric: 'build time per dial',
      raw: microsPer(iterations, () => connectTwiml('call-1', say, settings)),
      service: microsPer(iterations, () => connectTwiml('call-1', stream, settings)),
      unit: 'µs',
      note: 'raw: a plain <Say>; service: <Connect><Stream> with the context fitted to 4,000 characters',
    },
    { lowerIsBetter: true },
  );

  const slots = 3;
  const count = ctx.quick ? 15 : 60;
  const scenario = `${count} stream calls through ${slots} agent slots`;
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  let open = 0;
  let mostOpen = 0;
  let ended = 0;
  let withContext = 0;
  server.on('connection', (socket) => {
    mostOpen = Math.max(mostOpen, ++open);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { event: string; start?: { customParameters: Record<string, string> } };
      if (message.event === 'start' && message.start?.customParameters.lead_id && message.start.customParameters.message) withContext++;
    });
    socket.on('close', () => {
      open--;
      ended++;
    });
  });
  const streamUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/media`;

  await ctx.flush();
  const config = ctx.config({ MAX_CONCURRENT_CALLS: String(slots), CALL_WORKER_CONCURRENCY: String(slots * 2), CALL_RATE_MAX: '1000000', CALL_RATE_WINDOW_MS: '1000', SIMULATED_DIAL_LATENCY_MS: '0', SIMULATED_TIME_SCALE: '0.02' });
  const worker = await startCallWorker(config, createLogger('silent'));
  const started = performance.now();
  await ctx.post('/api/queue/schedule-bulk-calls', {
    calls: Array.from({ length: count }, (_, index) => ({ ...aCall, to: `+1415555${2000 + index}`, lead_id: String(index), connect: 'stream', streamUrl })),
  });
  await until(() => ended >= count, 'stream calls to end');
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));

  ctx.report.record({ scenario, metric: 'most streams open at once', raw: slots, service: mostOpen, unit: 'calls', note: `the cap; must not exceed ${slots}` }, { lowerIsBetter: true, against: slots });
  ctx.report.record({ scenario, metric: 'starts carrying the context', raw: count, service: withContext, unit: 'calls', note: 'every stream' }, { against: count });
  // A call lasts 11 s of simulated time (3 s to answer, 8 s with the agent), 220 ms at this scale.
  const ideal = Math.ceil(count / slots) * 0.22;
  ctx.report.record({ scenario, metric: 'time for all calls', raw: ideal, service: seconds, unit: 's', note: 'raw: back-to-back 220 ms calls in every slot' }, { lowerIsBetter: true, against: ideal });
}
