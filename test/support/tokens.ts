import { SignJWT } from 'jose';

/** The HS256 secret of test nodes. */
export const TEST_JWT_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
/** The publish API key of test nodes. */
export const TEST_PUBLISH_KEY = 'test-publish-key-0123456789';

/** Signs a client token for tests. */
export async function signToken(
  claims: { org: string; services: string[] | '*'; sub?: string; publish?: string[] | '*' },
  options: { secret?: string; expiresInS?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org: claims.org, services: claims.services, ...(claims.sub !== undefined ? { sub: claims.sub } : {}), ...(claims.publish !== undefined ? { publish: claims.publish } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInS ?? 3600))
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

/** A unique org name per test, so tests sharing a Redis never see each other's events. */
export function uniqueOrg(prefix = 'org'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}
