import { createContactGate, type GateSubject } from '../../src/contact/contact-gate.js';
import { contactRules } from '../../src/contact/contact-settings.js';
import { createContactStore, type DncEntry } from '../../src/contact/contact-store.js';
import { previewContactability } from '../../src/contact/contactability.js';
import { createCore } from '../../src/core.js';
import { createLogger } from '../../src/logger.js';
import { aCall, SERVICE_PREFIX, type BenchContext } from '../support/context.js';
import { percentile } from '../support/report.js';

/** Eight US zones by area code: Eastern, Central, Mountain, Arizona, Pacific, Alaska, Hawaii, and Indiana. */
const AREA_CODES = ['212', '312', '303', '602', '415', '907', '808', '317'];
/** Distinct numbers for each part of the scenario (`exchange`), eight zones in turn. */
const numberOf = (index: number, exchange = 555) => `+1${AREA_CODES[index % AREA_CODES.length]}${exchange}${String(index % 10_000).padStart(4, '0')}`;

async function usedMemory(ctx: BenchContext): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await ctx.redis.info('memory'))![1]);
}

/**
 * The contactability gate: what it adds to a dial beside a bare Redis round trip, how fast a backlog
 * across eight time zones is sorted into dial and defer, and what the do-not-call list costs in Redis.
 */
export async function gate(ctx: BenchContext) {
  await ctx.flush();
  const config = ctx.config({ CALLING_WINDOW: 'Mon-Sun 08:00-21:00', FREQUENCY_CAP: '3/24h', MIN_GAP_MINUTES: '30' });
  const store = createContactStore(ctx.redis, SERVICE_PREFIX);
  // A June afternoon when all eight zones are within their hours, so every check goes all the way.
  const benchStarted = Date.now();
  const afternoon = { now: () => Date.parse('2027-06-02T19:00:00Z') + (Date.now() - benchStarted), realDelayMs: (ms: number) => ms };
  const gate = createContactGate({ store, defaults: contactRules(config), clock: afternoon });
  await store.putManyDnc(Array.from({ length: 1_000 }, (_, index): DncEntry => ({ key: numberOf(index * 7 + 3), reason: null, source: 'bench', addedAt: new Date().toISOString(), expiresAt: null })));

  // One check at a time, as a dial makes it: the gate's whole cost, against a bare Redis round trip.
  const checks = ctx.quick ? 2_000 : 10_000;
  const gateMs: number[] = [];
  const pingMs: number[] = [];
  for (let index = 0; index < checks; index++) {
    let started = performance.now();
    await ctx.redis.ping();
    pingMs.push(performance.now() - started);
    started = performance.now();
    await gate.check({ to: numberOf(index) }, { jobId: `bench-${index}`, gapExempt: false });
    gateMs.push(performance.now() - started);
  }
  const scenario = `the gate before a dial (${checks.toLocaleString('en')} checks, 8 US zones)`;
  ctx.report.record({ scenario, metric: 'time per check, p50', raw: percentile(pingMs, 50), service: percentile(gateMs, 50), unit: 'ms', note: 'raw: a Redis PING' }, { lowerIsBetter: true });
  ctx.report.record({ scenario, metric: 'time per check, p99', raw: 2, service: percentile(gateMs, 99), unit: 'ms', note: 'target < 2 ms' }, { lowerIsBetter: true, against: 2 });

  // A backlog sorted into dial and defer in one pass: the preview runs the gate's decisions on all of it.
  const backlog: GateSubject[] = Array.from({ length: 10_000 }, (_, index) => ({ to: numberOf(index, 556) }));
  const started = performance.now();
  // 14:30 UTC: open in the East, still early in the West, Alaska and Hawaii.
  const sorted = await previewContactability(gate, backlog, Date.parse('2027-06-02T14:30:00Z'));
  const seconds = (performance.now() - started) / 1000;
  const usualRate = config.CALL_RATE_MAX / (config.CALL_RATE_WINDOW_MS / 1000);
  ctx.report.record(
    { scenario: '10,000 calls across 8 US zones', metric: 'sorted into dial/defer', raw: usualRate, service: backlog.length / seconds, unit: 'calls/s', note: `${sorted.counts.dial} dial, ${sorted.counts.defer} defer, ${sorted.counts.refuse} refuse; raw: CALL_RATE_MAX's dial rate` },
    { against: usualRate },
  );

  // The same backlog scheduled at night in all eight zones: each call waits for its window from the
  // moment it is queued, sorted in the one bulk request, beside the same request with no window.
  const nightCalls = ctx.quick ? 2_000 : 10_000;
  const night = { now: () => Date.parse('2027-06-02T09:30:00Z'), realDelayMs: (ms: number) => ms };
  const scheduleAtNight = async (window: string) => {
    await ctx.flush();
    const core = createCore(ctx.config({ CALLING_WINDOW: window }), { redis: ctx.redis, logger: createLogger('silent'), clock: night });
    const started = performance.now();
    await core.scheduling.scheduleBulk(Array.from({ length: nightCalls }, (_, index) => ({ ...aCall, to: numberOf(index, 557) })));
    const seconds = (performance.now() - started) / 1000;
    const delayed = await ctx.serviceQueue.getDelayedCount();
    await core.close();
    return { rate: nightCalls / seconds, delayed };
  };
  const anyHour = await scheduleAtNight('Mon-Sun 00:00-24:00');
  const atNight = await scheduleAtNight('Mon-Sun 08:00-21:00');
  ctx.report.record(
    { scenario: `${nightCalls.toLocaleString('en')} calls scheduled at night in 8 US zones`, metric: 'bulk scheduling rate', raw: anyHour.rate, service: atNight.rate, unit: 'calls/s', note: `${atNight.delayed.toLocaleString('en')} deferred to their morning as they were queued; raw: the same request with no calling window` },
  );

  // The do-not-call list at scale, against the leanest Redis holding the same numbers (a set).
  const entries = ctx.quick ? 100_000 : 1_000_000;
  const chunk = 5_000;
  const bytesPer = async (fill: (from: number, to: number) => Promise<unknown>) => {
    await ctx.flush();
    const before = await usedMemory(ctx);
    for (let from = 0; from < entries; from += chunk) await fill(from, Math.min(entries, from + chunk));
    return ((await usedMemory(ctx)) - before) / entries;
  };
  const listed = (from: number, to: number) => Array.from({ length: to - from }, (_, offset) => `+1${String(2_000_000_000 + from + offset)}`);
  const raw = await bytesPer((from, to) => ctx.redis.sadd('raw:dnc', ...listed(from, to)));
  const service = await bytesPer((from, to) =>
    store.putManyDnc(listed(from, to).map((key) => ({ key, reason: 'opted out', source: 'import', addedAt: new Date().toISOString(), expiresAt: null }))),
  );
  ctx.report.record(
    { scenario: `${entries.toLocaleString('en')} do-not-call entries`, metric: 'Redis bytes per entry', raw, service, unit: 'B', note: `raw: the numbers alone in a set; ${Math.round((service * 1_000_000) / 2 ** 20)} MiB per million entries` },
    { lowerIsBetter: true },
  );
}
