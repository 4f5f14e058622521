/**
 * A small SVG chart renderer (grouped bar charts and line charts), written for the benchmark's
 * reports: axes, ticks, labels, a legend and one colour per series. Pure functions from data to an
 * SVG string; no browser, no external service.
 */

/** One named series of a bar chart: a value per category (`null` = not measured, drawn as "–"). */
export interface BarSeries {
  name: string;
  values: (number | null)[];
}

/** A grouped bar chart: one group per category, one bar per series. */
export interface BarChart {
  title: string;
  /** Label of the value axis, with its unit. */
  yLabel: string;
  categories: string[];
  series: BarSeries[];
}

/** One named series of a line chart: points in any order (drawn sorted by x). */
export interface LineSeries {
  name: string;
  points: [number, number][];
}

/** A line chart with numeric axes. */
export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Logarithmic value axis (for latencies spanning decades). */
  logY?: boolean;
  /** Only these x ticks, when given (e.g. the node counts). */
  xTicks?: number[];
}

const WIDTH = 720;
const HEIGHT = 400;
const MARGIN = { top: 48, right: 24, bottom: 78, left: 76 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

/** Colour-blind-friendly palette (Okabe–Ito); systems keep their colour across charts. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
const KNOWN: Record<string, string> = { roomwire: '#0072B2', baseline: '#E69F00', 'baseline-pubsub': '#009E73', 'roomwire-nobatch': '#CC79A7' };

/** The colour of series `name` (the `index`-th of its chart). */
export function colourOf(name: string, index: number): string {
  return KNOWN[name] ?? (PALETTE[index % PALETTE.length] as string);
}

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values covering [0, max] (about `count` of them): steps of 1, 2 or 5 × 10^k. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude);
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks[ticks.length - 1] as number) < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

/** Powers of ten covering [min, max] (min > 0). */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-9)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, 1e-9))));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

/** A tick label: 1.5k, 20k, 1.2M, 0.5, 250. */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  const trim = (v: number): string => String(Number(v.toPrecision(3)));
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3)}k`;
  return trim(value);
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${attrs}>${escapeXml(content)}</text>`;
}

function frame(title: string, body: string[], legend: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(title)}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 24, title, 'font-size="16" font-weight="600" text-anchor="middle" fill="#222"'),
    ...body,
    ...legendOf(legend),
    '</svg>',
    '',
  ].join('\n');
}

function legendOf(names: string[]): string[] {
  const out: string[] = [];
  const itemW = Math.min(200, PLOT_W / Math.max(1, names.length));
  const y = HEIGHT - 18;
  names.forEach((name, i) => {
    const x = MARGIN.left + i * itemW;
    out.push(`<rect x="${x.toFixed(1)}" y="${y - 10}" width="12" height="12" fill="${colourOf(name, i)}"/>`);
    out.push(text(x + 18, y, name, 'font-size="12" fill="#222"'));
  });
  return out;
}

function yAxis(ticks: number[], toY: (v: number) => number, label: string): string[] {
  const out = [`<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + PLOT_H}" stroke="#444"/>`];
  for (const tick of ticks) {
    const y = toY(tick);
    out.push(`<line x1="${MARGIN.left}" y1="${y.toFixed(1)}" x2="${MARGIN.left + PLOT_W}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${MARGIN.left - 4}" y1="${y.toFixed(1)}" x2="${MARGIN.left}" y2="${y.toFixed(1)}" stroke="#444"/>`);
    out.push(text(MARGIN.left - 8, y + 4, formatTick(tick), 'font-size="11" text-anchor="end" fill="#333"'));
  }
  const cy = MARGIN.top + PLOT_H / 2;
  out.push(text(18, cy, label, `font-size="12" text-anchor="middle" fill="#333" transform="rotate(-90 18 ${cy.toFixed(1)})"`));
  return out;
}

/** Renders a grouped bar chart as SVG. */
export function renderBarChart(chart: BarChart): string {
  const values = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const ticks = niceTicks(Math.max(0, ...values));
  const top = ticks[ticks.length - 1] as number;
  const toY = (v: number): number => MARGIN.top + PLOT_H - (Math.max(0, v) / top) * PLOT_H;
  const body = yAxis(ticks, toY, chart.yLabel);
  body.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + PLOT_H}" x2="${MARGIN.left + PLOT_W}" y2="${MARGIN.top + PLOT_H}" stroke="#444"/>`);
  const groupW = PLOT_W / Math.max(1, chart.categories.length);
  const barW = (groupW * 0.75) / Math.max(1, chart.series.length);
  chart.categories.forEach((category, c) => {
    const groupX = MARGIN.left + c * groupW + groupW * 0.125;
    chart.series.forEach((series, s) => {
      const value = series.values[c] ?? null;
      const x = groupX + s * barW;
      if (value === null || !Number.isFinite(value)) {
        body.push(text(x + barW / 2, MARGIN.top + PLOT_H - 4, '–', 'font-size="11" text-anchor="middle" fill="#777"'));
        return;
      }
      const y = toY(value);
      body.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${(MARGIN.top + PLOT_H - y).toFixed(1)}" fill="${colourOf(series.name, s)}"><title>${escapeXml(`${series.name}, ${category}: ${formatTick(value)}`)}</title></rect>`,
      );
      body.push(text(x + barW / 2 - 1, y - 4, formatTick(value), 'font-size="10" text-anchor="middle" fill="#333"'));
    });
    body.push(text(MARGIN.left + (c + 0.5) * groupW, MARGIN.top + PLOT_H + 18, category, 'font-size="12" text-anchor="middle" fill="#222"'));
  });
  return frame(chart.title, body, chart.series.map((s) => s.name));
}

/** Renders a line chart as SVG. */
export function renderLineChart(chart: LineChart): string {
  const points = chart.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!chart.logY || y > 0));
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const xTicks = chart.xTicks ?? niceTicks(Math.max(0, ...xs));
  // Given ticks (e.g. node counts) get a margin on both sides, so no point sits on the value axis.
  const span = chart.xTicks ? Math.max(1, Math.max(...chart.xTicks) - Math.min(...chart.xTicks)) : 0;
  const xMin = chart.xTicks ? Math.min(...chart.xTicks) - span * 0.08 : 0;
  const xMax = Math.max(xMin + 1, ...xTicks) + span * 0.08;
  const yTicks = chart.logY ? logTicks(Math.min(...ys, 1), Math.max(...ys, 10)) : niceTicks(Math.max(0, ...ys));
  const yMin = chart.logY ? (yTicks[0] as number) : 0;
  const yMax = yTicks[yTicks.length - 1] as number;
  const toX = (x: number): number => MARGIN.left + ((x - xMin) / (xMax - xMin)) * PLOT_W;
  const toY = (y: number): number =>
    chart.logY
      ? MARGIN.top + PLOT_H - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * PLOT_H
      : MARGIN.top + PLOT_H - (y / yMax) * PLOT_H;
  const body = yAxis(yTicks, toY, chart.yLabel);
  body.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + PLOT_H}" x2="${MARGIN.left + PLOT_W}" y2="${MARGIN.top + PLOT_H}" stroke="#444"/>`);
  for (const tick of xTicks) {
    const x = toX(tick);
    body.push(`<line x1="${x.toFixed(1)}" y1="${MARGIN.top + PLOT_H}" x2="${x.toFixed(1)}" y2="${MARGIN.top + PLOT_H + 4}" stroke="#444"/>`);
    body.push(text(x, MARGIN.top + PLOT_H + 18, formatTick(tick), 'font-size="11" text-anchor="middle" fill="#333"'));
  }
  body.push(text(MARGIN.left + PLOT_W / 2, MARGIN.top + PLOT_H + 38, chart.xLabel, 'font-size="12" text-anchor="middle" fill="#333"'));
  chart.series.forEach((series, s) => {
    const colour = colourOf(series.name, s);
    const valid = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!chart.logY || y > 0)).sort((a, b) => a[0] - b[0]);
    if (valid.length > 1) {
      body.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${valid.map(([x, y]) => `${toX(x).toFixed(1)},${toY(y).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const [x, y] of valid) {
      body.push(`<circle cx="${toX(x).toFixed(1)}" cy="${toY(y).toFixed(1)}" r="3.5" fill="${colour}"><title>${escapeXml(`${series.name}: ${formatTick(x)}, ${formatTick(y)}`)}</title></circle>`);
    }
  });
  return frame(chart.title, body, chart.series.map((s) => s.name));
}
