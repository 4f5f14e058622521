/**
 * Shows an untrusted value in an error message without calling anything on it: `String(value)` runs
 * the value's own `toString`, which a hostile payload can make throw.
 */
export function safePreview(value: unknown, max = 80): string {
  if (typeof value === 'string') return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : `a value of type ${typeof value}`;
}
