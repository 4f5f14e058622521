import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { standalonePage, writeDocSection } from './doc-sections';
import { renderMarkdown } from './markdown';
import type { DeliveryResults } from './results';

/** Where a run's results were written. */
export interface WrittenFiles {
  json: string;
  latestJson: string;
  markdown: string;
}

/**
 * Writes `delivery-<timestamp>.json` and `delivery-latest.json` into `outDir` (`delivery-quick-*` for
 * quick runs), and the Markdown report as the `delivery` section of `docsPath` when given (the page's
 * other sections are kept), otherwise as a page of its own next to the JSON.
 */
export async function writeResults(results: DeliveryResults, options: { outDir: string; docsPath: string | null }): Promise<WrittenFiles> {
  const { prefix, json, latestJson } = await writeRunJson('delivery', results, options.outDir);
  const markdown = options.docsPath ?? path.join(options.outDir, `${prefix}-latest.md`);
  if (options.docsPath === null) await writeFile(markdown, standalonePage('delivery', renderMarkdown(results)));
  else await writeDocSection(markdown, 'delivery', renderMarkdown(results));
  return { json, latestJson, markdown };
}

/** `<name>`, or `<name>-quick` for quick runs: the start of every file a run writes. */
const runPrefix = (name: string, mode: 'full' | 'quick'): string => (mode === 'quick' ? `${name}-quick` : name);

/** The file a run's results are kept in for good: `<name>-<timestamp>.json` (`<name>-quick-…` for quick runs). */
export function runJsonName(name: string, results: { mode: 'full' | 'quick'; startedAt: string }): string {
  return `${runPrefix(name, results.mode)}-${results.startedAt.replace(/[:.]/g, '-')}.json`;
}

/**
 * Writes a run's results as `<name>-<timestamp>.json` and `<name>-latest.json` in `outDir`
 * (`<name>-quick-*` for quick runs); returns the paths and the prefix used.
 */
export async function writeRunJson(
  name: string,
  results: { mode: 'full' | 'quick'; startedAt: string },
  outDir: string,
): Promise<{ prefix: string; json: string; latestJson: string }> {
  await mkdir(outDir, { recursive: true });
  const prefix = runPrefix(name, results.mode);
  const json = path.join(outDir, runJsonName(name, results));
  const latestJson = path.join(outDir, `${prefix}-latest.json`);
  const text = `${JSON.stringify(results, null, 2)}\n`;
  await writeFile(json, text);
  await writeFile(latestJson, text);
  return { prefix, json, latestJson };
}
