import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isValidName, type CatalogDefinition } from '@roomwire/shared';

/** The catalog module named by `ROOMWIRE_CATALOG` could not be used; `message` names the variable and the reason. */
export class CatalogLoadError extends Error {
  constructor(message: string) {
    super(`ROOMWIRE_CATALOG: ${message}`);
    this.name = 'CatalogLoadError';
  }
}

/** Module extensions Node loads without a TypeScript loader. */
const LOADABLE = new Set(['.js', '.mjs', '.cjs']);

/** Why: an event type never becomes a room name, so any short printable string without spaces will do. */
function isValidEventType(type: string): boolean {
  return /^\S{1,128}$/.test(type);
}

/**
 * What is wrong with `value` as a catalog (`defineEvents({ service: { type: event(schema) } })`), one
 * line per problem; empty when it is a catalog. A schema is anything with a zod-style `safeParse`.
 */
export function catalogProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`expected an object of services, got ${describe(value)}`];
  const services = Object.entries(value as Record<string, unknown>);
  if (services.length === 0) return ['the catalog has no services'];
  const problems: string[] = [];
  for (const [service, events] of services) {
    if (!isValidName(service)) problems.push(`service ${JSON.stringify(service)}: names are letters, digits, "_" and "-" (at most 64, starting with a letter or digit)`);
    if (typeof events !== 'object' || events === null || Array.isArray(events) || Object.keys(events).length === 0) {
      problems.push(`service ${JSON.stringify(service)}: expected an object of event types, got ${describe(events)}`);
      continue;
    }
    for (const [type, definition] of Object.entries(events as Record<string, unknown>)) {
      const where = `${service}/${type}`;
      if (!isValidEventType(type)) problems.push(`${where}: event types are 1 to 128 characters without spaces`);
      const { schema, volatile, clientPublish } = (definition ?? {}) as { schema?: { safeParse?: unknown }; volatile?: unknown; clientPublish?: unknown };
      if (typeof schema?.safeParse !== 'function') problems.push(`${where}: expected event(schema) with a zod schema, got ${describe(definition)}`);
      else if (typeof volatile !== 'boolean') problems.push(`${where}: "volatile" must be a boolean (declare it with event(schema, { volatile }))`);
      else if (clientPublish !== undefined && typeof clientPublish !== 'boolean') problems.push(`${where}: "clientPublish" must be a boolean (declare it with event(schema, { clientPublish }))`);
    }
  }
  return problems;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object with keys ${JSON.stringify(Object.keys(value as object).slice(0, 5))}`;
  return typeof value;
}

// tsc compiles `import()` to `require()` for this CommonJS package, which cannot load an ES module
// (.mjs) on Node 20; a function built at run time keeps the real dynamic import.
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

/**
 * Loads the event catalog from the module at `file` (relative to `cwd`): an ES module or CommonJS
 * file exporting it as `catalog` (or as its default export). Throws a {@link CatalogLoadError} that
 * says what was wrong: no such file, a file Node cannot load, an import that failed, or an export
 * that is not a catalog (each problem listed).
 *
 * @example
 * const catalog = await loadCatalog(process.env.ROOMWIRE_CATALOG, process.cwd());
 */
export async function loadCatalog(file: string, cwd: string = process.cwd()): Promise<CatalogDefinition> {
  const absolute = path.resolve(cwd, file);
  if (!existsSync(absolute)) throw new CatalogLoadError(`no file at ${absolute}`);
  const extension = path.extname(absolute);
  let module: Record<string, unknown>;
  try {
    module = await importModule(pathToFileURL(absolute).href);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' || !LOADABLE.has(extension)) {
      throw new CatalogLoadError(`${absolute}: Node cannot load a ${extension || 'extension-less'} file; compile the catalog to .js or .mjs (or run the node under a TypeScript loader such as tsx)`);
    }
    throw new CatalogLoadError(`${absolute} failed to load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  const fromDefault = module.default as Record<string, unknown> | undefined;
  const exported = module.catalog ?? fromDefault?.catalog ?? fromDefault;
  if (exported === undefined) throw new CatalogLoadError(`${absolute} exports no catalog: export it as \`catalog\` (export const catalog = defineEvents({ … })) or as the default export`);
  const problems = catalogProblems(exported);
  if (problems.length > 0) throw new CatalogLoadError(`${absolute} does not export a valid catalog:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return exported as CatalogDefinition;
}
