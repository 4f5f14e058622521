/** A `${NAME}` placeholder; nginx's own variables are written `$name`, without braces, and never match. */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Fills the `${NAME}` placeholders of a configuration template, as `envsubst` with an explicit
 * variable list does. Throws when a placeholder has no value, or a value has no placeholder, so a
 * renamed variable fails loudly instead of leaving `${RW_NODE1}` in a config.
 *
 * @example
 * renderTemplate('server ${RW_NODE1};', { RW_NODE1: '127.0.0.1:3001' }); // 'server 127.0.0.1:3001;'
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const used = new Set<string>();
  const rendered = template.replace(PLACEHOLDER, (match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      missing.add(name);
      return match;
    }
    used.add(name);
    return value;
  });
  if (missing.size > 0) throw new TypeError(`renderTemplate: no value for ${[...missing].map((n) => `\${${n}}`).join(', ')}`);
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0) throw new TypeError(`renderTemplate: the template has no placeholder for ${unused.join(', ')}`);
  return rendered;
}

/** The placeholder names a template uses, in order of first use. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1] as string))];
}
