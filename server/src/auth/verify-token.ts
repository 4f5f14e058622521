import { RoomwireError } from '@roomwire/shared';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyOptions } from 'jose';
import type { AuthOptions } from '../config/node-options';
import { claimsSchema, type Claims } from './claims';

/** Verifies a client token and returns its claims, or throws a {@link RoomwireError}. */
export type TokenVerifier = (token: unknown) => Promise<Claims>;

/** Longest token accepted; a larger one is refused before any parsing. */
export const MAX_TOKEN_BYTES = 8192;

/**
 * Builds the verifier for the configured key: HS256 with a secret, or RS256/ES256 with a JWKS URL.
 * Algorithms are pinned, so `alg: none` and HS/RS confusion are refused by construction.
 */
export function createTokenVerifier(auth: AuthOptions): TokenVerifier {
  const common: JWTVerifyOptions = { requiredClaims: ['exp'] };
  if (auth.issuer !== undefined) common.issuer = auth.issuer;
  if (auth.audience !== undefined) common.audience = auth.audience;

  let verify: (token: string) => Promise<unknown>;
  if (auth.jwtSecret !== undefined) {
    const key = new TextEncoder().encode(auth.jwtSecret);
    verify = async (token) => (await jwtVerify(token, key, { ...common, algorithms: ['HS256'] })).payload;
  } else if (auth.jwksUrl !== undefined) {
    const jwks = createRemoteJWKSet(new URL(auth.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    verify = async (token) => (await jwtVerify(token, jwks, { ...common, algorithms: ['RS256', 'ES256'] })).payload;
  } else {
    throw new TypeError('createTokenVerifier: set auth.jwtSecret or auth.jwksUrl');
  }

  return async (token) => {
    if (typeof token !== 'string' || token.length === 0) {
      throw new RoomwireError('RW_ERR_UNAUTHORIZED', 'missing token: pass auth.token in the handshake');
    }
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) {
      throw new RoomwireError('RW_ERR_UNAUTHORIZED', `token larger than ${MAX_TOKEN_BYTES} bytes`);
    }
    let payload: unknown;
    try {
      payload = await verify(token);
    } catch (err) {
      throw toAuthError(err);
    }
    const parsed = claimsSchema.safeParse(payload);
    if (!parsed.success) {
      throw new RoomwireError('RW_ERR_UNAUTHORIZED', `token claims are invalid: ${parsed.error.issues[0]?.message ?? 'bad claims'}`);
    }
    return parsed.data;
  };
}

function toAuthError(err: unknown): RoomwireError {
  if (err instanceof errors.JWTExpired) return new RoomwireError('RW_ERR_TOKEN_EXPIRED', 'token expired');
  // The key set could not be fetched: the token may be fine, so the client should retry.
  if (err instanceof errors.JWKSTimeout) return new RoomwireError('RW_ERR_UNAVAILABLE', 'the key set (JWKS) timed out');
  if (err instanceof errors.JOSEError) return new RoomwireError('RW_ERR_UNAUTHORIZED', `invalid token (${err.code})`);
  if (err instanceof TypeError || (err instanceof Error && /fetch|network|ECONN/i.test(err.message))) {
    return new RoomwireError('RW_ERR_UNAVAILABLE', 'the key set (JWKS) could not be fetched');
  }
  return new RoomwireError('RW_ERR_UNAUTHORIZED', 'invalid token');
}
