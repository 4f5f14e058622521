/**
 * The benchmark report's building blocks: per-benchmark sections of docs/benchmarks.md and the SVG
 * chart renderer (pure functions; the suite's smoke test runs them end to end).
 */
import { readDocSection, replaceDocSection } from '../bench/src/report/doc-sections';
import { escapeXml, formatTick, logTicks, niceTicks, renderBarChart, renderLineChart } from '../bench/src/charts/svg';

describe('docs/benchmarks.md sections', () => {
  const page = [
    '# Benchmarks',
    '',
    'hand-written intro',
    '',
    '<!-- bench:delivery:start -->',
    'delivery v1',
    '<!-- bench:delivery:end -->',
    '',
    '<!-- bench:suite-memory:start -->',
    'memory v1',
    '<!-- bench:suite-memory:end -->',
    '',
  ].join('\n');

  it('rewrites only its own section and keeps the rest byte for byte', () => {
    const next = replaceDocSection(page, 'suite-memory', 'memory v2');
    expect(readDocSection(next, 'suite-memory')).toBe('memory v2');
    expect(next.replace('memory v2', 'memory v1')).toBe(page);
    const again = replaceDocSection(next, 'delivery', 'delivery v2');
    expect(readDocSection(again, 'delivery')).toBe('delivery v2');
    expect(readDocSection(again, 'suite-memory')).toBe('memory v2');
    expect(again).toContain('hand-written intro');
  });

  it('appends a section the page does not have yet, once', () => {
    const next = replaceDocSection(page, 'suite-latency', 'latency v1');
    expect(next.startsWith(page.trimEnd())).toBe(true);
    expect(readDocSection(next, 'suite-latency')).toBe('latency v1');
    expect(replaceDocSection(next, 'suite-latency', 'latency v2').split('bench:suite-latency:start')).toHaveLength(2);
  });

  it('refuses a start marker without its end marker', () => {
    expect(() => replaceDocSection('<!-- bench:delivery:start -->\nx', 'delivery', 'y')).toThrow(/without/);
  });
});

describe('SVG charts', () => {
  it('picks round ticks that cover the data', () => {
    expect(niceTicks(9)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(logTicks(0.7, 300)).toEqual([0.1, 1, 10, 100, 1000]);
    expect(formatTick(12_500)).toBe('12.5k');
    expect(formatTick(2_000_000)).toBe('2M');
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });

  it('draws one bar per measured value, a dash for a missing one, and a legend entry per series', () => {
    const svg = renderBarChart({
      title: 'T <1>',
      yLabel: 'KB',
      categories: ['1000', '5000'],
      series: [
        { name: 'roomwire', values: [1.5, 2] },
        { name: 'baseline', values: [3, null] },
      ],
    });
    expect(svg.match(/<rect x=[^>]*><title>/g)).toHaveLength(3);
    expect(svg).toContain('>–</text>');
    expect(svg).toContain('T &lt;1&gt;');
    expect(svg).toContain('>roomwire</text>');
    expect(svg).toContain('>baseline</text>');
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it('draws a polyline per series with points, on a log axis when asked', () => {
    const svg = renderLineChart({
      title: 'latency',
      xLabel: '%',
      yLabel: 'ms',
      logY: true,
      xTicks: [25, 50, 75],
      series: [
        { name: 'roomwire', points: [[25, 2], [50, 3], [75, 40]] },
        { name: 'baseline', points: [[25, 1]] },
      ],
    });
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg.match(/<circle/g)).toHaveLength(4);
    expect(svg).toContain('>100</text>');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });
});
