/**
 * `npm run bench`: the service beside raw BullMQ doing the same work, in one run, on one private
 * Redis. `-- --quick` for a short run, `-- --only <scenario>` for one scenario. A full run of every
 * scenario writes bench/results/latest.json and BENCHMARKS.md (the table, then bench/findings.md);
 * a quick or partial run writes bench/results/quick.json or partial.json and leaves BENCHMARKS.md
 * alone unless `-- --write`. `-- --render` rewrites BENCHMARKS.md from the last full run and the findings.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { openBench } from './support/context.js';
import { markdown, markdownTable, sectionTable, type BenchResult } from './support/report.js';
import { bulk } from './scenarios/bulk.js';
import { capacity } from './scenarios/capacity.js';
import { connect } from './scenarios/connect.js';
import { gate } from './scenarios/gate.js';
import { campaigns } from './scenarios/campaigns.js';
import { delayed } from './scenarios/delayed.js';
import { dialing } from './scenarios/dialing.js';
import { footprint } from './scenarios/footprint.js';
import { ingest } from './scenarios/ingest.js';
import { webhooks } from './scenarios/webhooks.js';
import { peers } from './scenarios/peers.js';
import { scale } from './scenarios/scale.js';

const scenarios = { ingest, peers, bulk, footprint, dialing, capacity, connect, gate, campaigns, webhooks, delayed, scale };

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, write: { type: 'boolean', default: false }, render: { type: 'boolean', default: false } },
});
// Rewrites BENCHMARKS.md from the last full run's figures and bench/findings.md, measuring nothing.
if (values.render) {
  const latest = JSON.parse(readFileSync('bench/results/latest.json', 'utf8')) as BenchResult;
  writeFileSync('BENCHMARKS.md', markdown(latest, readFileSync('bench/findings.md', 'utf8')));
  console.log(`wrote BENCHMARKS.md from the run of ${latest.date}`);
  process.exit(0);
}
const only = values.only?.split(',');
const unknown = only?.filter((name) => !(name in scenarios));
if (unknown?.length) {
  console.error(`unknown scenario ${unknown.join(', ')}; there are ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}

// Stopped by a signal, exit normally: that runs the hooks that stop every process the bench started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const started = Date.now();
const bench = await openBench(values.quick);
let redisVersion = 'unknown';
try {
  redisVersion = /redis_version:(\S+)/.exec(await bench.redis.info('server'))?.[1] ?? redisVersion;
  for (const [name, run] of Object.entries(scenarios)) {
    if (only && !only.includes(name)) continue;
    const scenarioStarted = Date.now();
    await run(bench);
    console.log(`  (${name}: ${Math.round((Date.now() - scenarioStarted) / 1000)} s)`);
  }
} finally {
  await bench.close();
}

const bullmq = JSON.parse(readFileSync('node_modules/bullmq/package.json', 'utf8')) as { version: string };
const full = !values.quick && !only;
const mode = full ? 'latest' : values.quick ? 'quick' : 'partial';
// Charts go beside BENCHMARKS.md's images when it is written, else beside this run's results.
const chartDir = full || values.write ? 'docs' : 'bench/results';
const written: string[] = [];
mkdirSync('bench/results', { recursive: true });
const sections = bench.report.sections.map(({ chart, ...section }) => {
  if (!chart) return section;
  const file = `${chartDir}/${chartDir === 'docs' ? chart.file : `${mode}-${chart.file}`}`;
  writeFileSync(file, chart.svg);
  written.push(file);
  return { ...section, chart: file };
});
const result: BenchResult = {
  date: new Date().toISOString(),
  quick: values.quick,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, bullmq: bullmq.version, redis: redisVersion },
  rows: bench.report.rows,
  sections,
};
const resultFile = `bench/results/${mode}.json`;
written.unshift(resultFile);
writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
if (full || values.write) {
  writeFileSync('BENCHMARKS.md', markdown(result, readFileSync('bench/findings.md', 'utf8')));
  written.push('BENCHMARKS.md');
}
console.log(`\n${markdownTable(result.rows)}\n`);
for (const section of bench.report.sections) console.log(`${section.title}\n${sectionTable(section)}\n`);
console.log(`wrote ${written.join(' and ')}; the whole run took ${Math.round((Date.now() - started) / 1000)} s`);
// Everything started is stopped; a reconnecting client must not keep the process alive.
process.exit(0);
