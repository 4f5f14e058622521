import { isFailure, type DeliveryResults } from './results';

/** A plain-text summary for the terminal: every scenario's metrics per system, then the bars. */
export function renderBarsSummary(results: DeliveryResults): string {
  const systems = results.systems.map((s) => s.name);
  const width = Math.max(...results.scenarios.flatMap((s) => s.metrics.map((m) => m.label.length)), 10) + 2;
  const col = 18;
  const lines: string[] = ['', `=== delivery benchmark (${results.mode}) ===`];
  for (const scenario of results.scenarios) {
    lines.push('', `${scenario.title}`, `${''.padEnd(width)}${systems.map((s) => s.padStart(col)).join('')}`);
    for (const def of scenario.metrics) {
      const cells = systems.map((system) => {
        const outcome = scenario.outcomes[system];
        if (outcome === undefined) return '';
        if (isFailure(outcome)) return 'failed';
        const value = outcome.metrics[def.key];
        return value === null || value === undefined ? '–' : `${value.toFixed(def.digits ?? 1)}${def.unit && def.unit !== '/s' ? ` ${def.unit}` : ''}`;
      });
      lines.push(`${def.label.padEnd(width)}${cells.map((c) => c.padStart(col)).join('')}`);
    }
    for (const system of systems) {
      const outcome = scenario.outcomes[system];
      if (outcome && !isFailure(outcome)) for (const note of outcome.notes) lines.push(`  note [${system}]: ${note}`);
      if (outcome && isFailure(outcome)) lines.push(`  FAILED [${system}]: ${outcome.error.split('\n')[0]}`);
    }
  }
  lines.push('', 'Bars (roomwire vs baseline):');
  for (const bar of results.bars) lines.push(`  ${bar.verdict.padEnd(12)}  ${bar.requirement}: ${bar.measured}`);
  return lines.join('\n');
}
