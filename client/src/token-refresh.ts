/**
 * When to send a fresh token (`rw:refresh`) for the token a connection runs on: after `ratio` of its
 * lifetime, in ms from when it was obtained. The lifetime is `exp − iat` when the token has an `iat`
 * (both from the issuer's clock, so a skewed client clock does not matter), else `exp` − now.
 * `undefined` when the token has no readable `exp`: it is then never refreshed ahead of time.
 *
 * @example
 * refreshDelayMs(token, 0.8, Date.now()); // 48 min for a 1-hour token
 */
export function refreshDelayMs(token: string, ratio: number, obtainedAtMs: number): number | undefined {
  const claims = readClaims(token);
  if (claims === undefined || typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return undefined;
  const lifetimeMs = typeof claims.iat === 'number' && claims.iat < claims.exp ? (claims.exp - claims.iat) * 1000 : claims.exp * 1000 - obtainedAtMs;
  return Math.max(0, Math.floor(lifetimeMs * ratio));
}

/** The claims of a JWT, read without verifying it (the client only schedules by them); `undefined` when unreadable. */
function readClaims(token: string): { exp?: unknown; iat?: unknown } | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined || payload.length === 0 || payload.length > 16_384) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    return typeof claims === 'object' && claims !== null ? (claims as { exp?: unknown; iat?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}
