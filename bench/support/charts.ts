/** Plain SVG charts of bench figures: no fonts or scripts to load, readable on GitHub and offline. */

const WIDTH = 720;
const HEIGHT = 360;
const MARGIN = { top: 40, right: 190, bottom: 50, left: 70 };
const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const number = (value: number) => (value >= 1000 ? value.toLocaleString('en', { maximumFractionDigits: 0 }) : String(Math.round(value * 10) / 10));

/** Round steps for an axis from 0 to at least `max`. */
function ticks(max: number): number[] {
  const rough = Math.max(max, 1e-9) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough)!;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, index) => index * step);
}

function frame(title: string, yLabel: string, yTicks: number[], y: (value: number) => number, body: string[]): string {
  const plotRight = WIDTH - MARGIN.right;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
    ...yTicks.map((tick) => `<line x1="${MARGIN.left}" x2="${plotRight}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e5e7eb"/><text x="${MARGIN.left - 6}" y="${y(tick) + 4}" text-anchor="end">${number(tick)}</text>`),
    `<text transform="translate(16 ${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

const legend = (names: readonly string[]) =>
  names.map((name, index) => {
    const top = MARGIN.top + index * 20;
    return `<rect x="${WIDTH - MARGIN.right + 16}" y="${top}" width="12" height="12" fill="${COLOURS[index % COLOURS.length]}"/><text x="${WIDTH - MARGIN.right + 34}" y="${top + 10}">${escape(name)}</text>`;
  });

export interface LineSeries {
  name: string;
  values: readonly number[];
}

/** Lines over a logarithmic x axis (each x a power of ten apart, say), one per series. */
export function lineChart({ title, xLabel, yLabel, xs, series }: { title: string; xLabel: string; yLabel: string; xs: readonly number[]; series: readonly LineSeries[] }): string {
  const yTicks = ticks(Math.max(...series.flatMap((line) => line.values)));
  const yMax = yTicks.at(-1)!;
  const [logMin, logMax] = [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))];
  const x = (value: number) => MARGIN.left + 20 + ((Math.log10(value) - logMin) / Math.max(logMax - logMin, 1e-9)) * (WIDTH - MARGIN.left - MARGIN.right - 40);
  const y = (value: number) => HEIGHT - MARGIN.bottom - (value / yMax) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  const body = [
    ...xs.map((value) => `<text x="${x(value)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${number(value)}</text>`),
    `<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escape(xLabel)}</text>`,
    ...series.map((line, index) => {
      const colour = COLOURS[index % COLOURS.length];
      const points = line.values.map((value, at) => `${x(xs[at]!).toFixed(1)},${y(value).toFixed(1)}`);
      return [
        `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.join(' ')}"/>`,
        ...points.map((point) => `<circle cx="${point.split(',')[0]}" cy="${point.split(',')[1]}" r="3" fill="${colour}"/>`),
      ].join('');
    }),
    ...legend(series.map((line) => line.name)),
  ];
  return frame(title, yLabel, yTicks, y, body);
}

/** Bars in groups (one group per label), one bar per series, each bar labelled with its value. */
export function barChart({ title, yLabel, groups, series }: { title: string; yLabel: string; groups: readonly string[]; series: readonly LineSeries[] }): string {
  const yTicks = ticks(Math.max(...series.flatMap((bars) => bars.values)));
  const yMax = yTicks.at(-1)!;
  const y = (value: number) => HEIGHT - MARGIN.bottom - (value / yMax) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  const groupWidth = (WIDTH - MARGIN.left - MARGIN.right) / groups.length;
  const barWidth = (groupWidth * 0.8) / series.length;
  const body = [
    ...groups.map((group, at) => `<text x="${MARGIN.left + groupWidth * (at + 0.5)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${escape(group)}</text>`),
    ...series.flatMap((bars, index) =>
      bars.values.map((value, at) => {
        const left = MARGIN.left + groupWidth * at + groupWidth * 0.1 + barWidth * index;
        return `<rect x="${left.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(HEIGHT - MARGIN.bottom - y(value)).toFixed(1)}" fill="${COLOURS[index % COLOURS.length]}"/><text x="${(left + barWidth / 2 - 1).toFixed(1)}" y="${(y(value) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${number(value)}</text>`;
      }),
    ),
    ...legend(series.map((bars) => bars.name)),
  ];
  return frame(title, yLabel, yTicks, y, body);
}
