/**
 * Whether every string and key in a value is well-formed Unicode (see {@link isWellFormed}).
 * Iterative, and each object is visited once: a body may nest tens of thousands of levels within its
 * size limit, and a library caller's value may even be cyclic (JSON.stringify refuses that later).
 */
export function isWellFormedValue(value: unknown): boolean {
  const pending: unknown[] = [value];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (!isWellFormed(item)) return false;
    } else if (typeof item === 'object' && item !== null && !seen.has(item)) {
      seen.add(item);
      if (Array.isArray(item)) {
        for (const element of item) pending.push(element);
        continue;
      }
      for (const [key, element] of Object.entries(item)) {
        if (!isWellFormed(key)) return false;
        pending.push(element);
      }
    }
  }
  return true;
}

/** Why: a lone UTF-16 surrogate has no UTF-8 encoding; encoders replace it with U+FFFD, so the text would change on the way. */
export function isWellFormed(text: string): boolean {
  return !/\p{Cs}/u.test(text);
}
