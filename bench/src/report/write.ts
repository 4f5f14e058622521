import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
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
 * quick runs), and the Markdown report to `docsPath` when given, otherwise next to the JSON.
 */
export async function writeResults(results: DeliveryResults, options: { outDir: string; docsPath: string | null }): Promise<WrittenFiles> {
  await mkdir(options.outDir, { recursive: true });
  const prefix = results.mode === 'quick' ? 'delivery-quick' : 'delivery';
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const json = path.join(options.outDir, `${prefix}-${stamp}.json`);
  const latestJson = path.join(options.outDir, `${prefix}-latest.json`);
  const text = `${JSON.stringify(results, null, 2)}\n`;
  await writeFile(json, text);
  await writeFile(latestJson, text);
  const markdown = options.docsPath ?? path.join(options.outDir, `${prefix}-latest.md`);
  await mkdir(path.dirname(markdown), { recursive: true });
  await writeFile(markdown, renderMarkdown(results));
  return { json, latestJson, markdown };
}
