/**
 * When to send a fresh token (`rw:refresh`) for the token a connection runs on, in ms from when it was
 * obtained: after `ratio` of its remaining life. The lifetime is `exp − iat` (the issuer's clock) and
 * the remaining life `exp` − now (this device's clock). A device clock behind the issuer's cannot
 * postpone the refresh past `ratio` of the lifetime; one ahead of it cannot bring it before half of
 * that (no refresh storm); and a token fetched a while after its `iat` (seconds are whole) is refreshed
 * in time. Without `iat`, the remaining life alone. `undefined` when the token has no readable `exp`:
 * it is then never refreshed ahead of time.
 *
 * @example
 * refreshDelayMs(token, 0.8, Date.now()); // 48 min for a fresh 1-hour token
 */
export function refreshDelayMs(token: string, ratio: number, obtainedAtMs: number): number | undefined {
  const claims = readClaims(token);
  if (claims === undefined || typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return undefined;
  const remainingMs = claims.exp * 1000 - obtainedAtMs;
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat) || claims.iat >= claims.exp) return Math.max(0, Math.floor(remainingMs * ratio));
  const lifetimeMs = (claims.exp - claims.iat) * 1000;
  return Math.floor(Math.min(lifetimeMs * ratio, Math.max((lifetimeMs * ratio) / 2, remainingMs * ratio)));
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
