/** One figure of the table: the service beside raw BullMQ doing the same work. */
export interface Row {
  scenario: string;
  metric: string;
  raw: number;
  service: number;
  /** 1.0 = as good as raw BullMQ: service / raw for rates, raw / service where lower is better. */
  ratio: number;
  unit: string;
  note?: string;
}

/** A table of its own (the peers side by side, the scale curve), with the chart it is drawn as. */
export interface Section {
  title: string;
  intro: string;
  header: string[];
  rows: string[][];
  /** The chart's file name (under docs/ when BENCHMARKS.md is written) and its SVG. */
  chart?: { file: string; svg: string };
}

export interface BenchResult {
  date: string;
  quick: boolean;
  machine: Record<string, string | number>;
  rows: Row[];
  sections?: Array<Omit<Section, 'chart'> & { chart?: string }>;
}

export const fmt = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2));

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export const sectionTable = ({ header, rows }: Pick<Section, 'header' | 'rows'>) =>
  [`| ${header.join(' | ')} |`, `| ${header.map((_, index) => (index === 0 ? '---' : '---:')).join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

export function createReport() {
  const rows: Row[] = [];
  const sections: Section[] = [];
  return {
    rows,
    sections,
    /** Adds a table of its own and prints it at once. */
    section(section: Section) {
      sections.push(section);
      console.log(`\n${section.title}\n${sectionTable(section)}\n`);
    },
    /** Adds a row and prints it at once, so a long run shows its progress. */
    /** `against`: compare the service with this figure (a limit) rather than with raw BullMQ's. */
    record(row: Omit<Row, 'ratio'>, { lowerIsBetter = false, against }: { lowerIsBetter?: boolean; against?: number } = {}) {
      const base = against ?? row.raw;
      // Latencies of 0 ms (as good as it gets) must not divide by zero.
      const ratio = lowerIsBetter ? Math.max(base, 1) / Math.max(row.service, 1) : row.service / Math.max(base, 1e-9);
      rows.push({ ...row, ratio: Math.round(ratio * 100) / 100 });
      console.log(`${row.scenario.padEnd(42)} ${row.metric.padEnd(26)} raw ${fmt(row.raw).padStart(9)}  service ${fmt(row.service).padStart(9)} ${row.unit.padEnd(6)} ratio ${rows.at(-1)!.ratio}`);
    },
  };
}

export type Report = ReturnType<typeof createReport>;

/** The table alone, as BENCHMARKS.md shows it. */
export function markdownTable(rows: readonly Row[]): string {
  return [
    '| Scenario | Metric | Raw BullMQ | Service | Ratio | Note |',
    '| --- | --- | ---: | ---: | ---: | --- |',
    ...rows.map((row) => `| ${row.scenario} | ${row.metric} | ${fmt(row.raw)} ${row.unit} | ${fmt(row.service)} ${row.unit} | ${row.ratio} | ${row.note ?? ''} |`),
  ].join('\n');
}

export function markdown(result: BenchResult, explanations: string): string {
  const { machine } = result;
  const sections = (result.sections ?? []).flatMap((section) => [
    `## ${section.title}`,
    '',
    section.intro,
    '',
    sectionTable(section),
    '',
    ...(section.chart ? [`![${section.title}](${section.chart})`, ''] : []),
  ]);
  return [
    '# Benchmarks',
    '',
    `Measured ${result.date}${result.quick ? ' (quick mode)' : ''} on ${machine.cpus} × ${machine.cpu}, ${machine.memoryGiB} GiB, ` +
      `Node ${machine.node}, BullMQ ${machine.bullmq}, Redis ${machine.redis}: the service and raw BullMQ in one run, on one private Redis. ` +
      'Reproduce with `npm run bench` (`npm run bench -- --quick` for a short run; `-- --only <scenario>` for one).',
    '',
    'The ratio is service ÷ raw for rates, and raw ÷ service for latencies, bytes and memory (1.0 = as good as raw BullMQ; above 1, better).',
    '',
    markdownTable(result.rows),
    '',
    ...sections,
    explanations.trim(),
    '',
  ].join('\n');
}
