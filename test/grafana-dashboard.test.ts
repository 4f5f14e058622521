import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';

const ROOT = path.join(__dirname, '..');
const DATASOURCE = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

interface Target {
  expr?: string;
  datasource?: unknown;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'infra', 'grafana', 'roomwire.json'), 'utf8')) as Dashboard;
const metricsSource = readFileSync(path.join(ROOT, 'server', 'src', 'metrics', 'node-metrics.ts'), 'utf8');

/** Every panel, including those inside collapsed rows. */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}
const panels = allPanels(dashboard.panels).filter((panel) => panel.type !== 'row');
const expressions = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr ?? '' })));

/** The node's metrics as node-metrics.ts defines them: name → Counter | Gauge | Histogram. */
const defined = new Map<string, string>();
for (const match of metricsSource.matchAll(/new (Counter|Gauge|Histogram)\(\{\s*name:\s*'(roomwire_[a-z0-9_]+)'/g)) {
  defined.set(match[2] as string, match[1] as string);
}

/** The metric a series name belongs to: histograms are scraped as `_bucket`, `_sum` and `_count` series. */
function metricOf(series: string): string | undefined {
  if (defined.has(series)) return series;
  const histogram = /^(.+)_(bucket|sum|count)$/.exec(series);
  return histogram && defined.get(histogram[1] as string) === 'Histogram' ? histogram[1] : undefined;
}

function referenced(prefix: RegExp): Set<string> {
  return new Set(expressions.flatMap(({ expr }) => expr.match(prefix) ?? []));
}

test('the dashboard is a Grafana dashboard over a Prometheus data source variable, filtered by node', () => {
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  expect(dashboard.uid).toMatch(/^[a-z0-9-]+$/);
  const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
  expect(variables.get('DS_PROMETHEUS')).toMatchObject({ type: 'datasource', query: 'prometheus' });
  expect(variables.get('node')).toMatchObject({ type: 'query', definition: expect.stringContaining('roomwire_connections') });

  const ids = allPanels(dashboard.panels).map((panel) => panel.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const panel of panels) {
    expect({ panel: panel.title, datasource: panel.datasource }).toEqual({ panel: panel.title, datasource: DATASOURCE });
    expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
  }
  for (const { panel, expr } of expressions) {
    expect({ panel, filtered: expr.includes('node=~"$node"') }).toEqual({ panel, filtered: true });
  }
});

test('every roomwire_ metric the panels query is defined in node-metrics.ts', () => {
  expect(defined.size).toBeGreaterThan(0);
  const unknown = [...referenced(/\broomwire_[a-z0-9_]+/g)].filter((series) => metricOf(series) === undefined);
  expect(unknown).toEqual([]);
});

test('every roomwire_ metric defined in node-metrics.ts has a panel', () => {
  const used = new Set([...referenced(/\broomwire_[a-z0-9_]+/g)].map(metricOf));
  expect([...defined.keys()].filter((name) => !used.has(name))).toEqual([]);
});

test('histogram quantiles are taken over _bucket series, by le', () => {
  const quantiles = expressions.filter(({ expr }) => expr.includes('histogram_quantile'));
  expect(quantiles.length).toBeGreaterThan(0);
  for (const { panel, expr } of quantiles) {
    expect({ panel, expr, ok: /_bucket\{/.test(expr) && /by \((le|le, [a-z_]+)\)/.test(expr) }).toEqual({ panel, expr, ok: true });
  }
});

test('the process panels use metrics prom-client exports by default', async () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const exported = new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
  const used = [...referenced(/\b(?:process|nodejs)_[a-z0-9_]+/g)];
  expect(used).toEqual(expect.arrayContaining(['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']));
  expect(used.filter((name) => !exported.has(name))).toEqual([]);
});
