import { SignJWT, importJWK, type JWK, type KeyLike } from 'jose';
import { claimsSchema } from './claims';
import { isPrivateSigningJwk, SIGNING_ALGORITHMS, type SigningAlgorithm } from './signing-keys';

/** Options of {@link signClientToken}: the claims, the lifetime, and exactly one key. */
export interface SignClientTokenOptions {
  /** The org whose rooms the client may join (`org` claim). */
  org: string;
  /** Services the client may subscribe to, or `'*'` for every service of the org (`services` claim). */
  services: readonly string[] | '*';
  /** Who the token is for, e.g. your user id (`sub` claim); shown in the node's logs, and carried by the events the client sends. @default undefined */
  sub?: string;
  /**
   * Services the client may send events to with `client.publish` (`publish` claim; only the types the
   * catalog marks `clientPublish`), or `'*'`. @default undefined (none)
   */
  publish?: readonly string[] | '*';
  /**
   * Lifetime: seconds, or a time span such as `'15m'` or `'1h'`. A connection whose token expires is
   * closed and reconnects with a fresh token (recovering what it missed), so this is also how often
   * each client reconnects. @default clientTokenDefaults.expiresIn (1 hour)
   */
  expiresIn?: number | string;
  /** HS256 secret shared with the nodes (their `JWT_SECRET`, at least 32 bytes). Set this or `privateKey`. */
  secret?: string;
  /**
   * A private JWK for RS256 or ES256 (from {@link generateSigningKey}), with its `kid` and `alg`; the
   * nodes verify it through the JWKS at their `JWKS_URL`. Set this or `secret`.
   */
  privateKey?: JWK;
  /** `iss` claim; must match the nodes' `JWT_ISSUER` when they set one. @default undefined */
  issuer?: string;
  /** `aud` claim; must match the nodes' `JWT_AUDIENCE` when they set one. @default undefined */
  audience?: string;
}

/** Defaults of {@link SignClientTokenOptions}. */
export const clientTokenDefaults = {
  expiresIn: '1h',
} as const;

/** Why: a longer life keeps a leaked token usable longer, and the node never re-checks it before `exp`. */
const MAX_LIFETIME_S = 24 * 3600;
const MIN_SECRET_BYTES = 32;

const SPAN_UNITS_S: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Lifetime in seconds of `expiresIn`, or a TypeError naming what was wrong. */
function lifetimeSeconds(expiresIn: number | string): number {
  let seconds: number;
  if (typeof expiresIn === 'number') seconds = expiresIn;
  else {
    const match = /^(\d+)\s*(s|m|h|d)$/.exec(expiresIn.trim());
    seconds = match ? Number(match[1]) * (SPAN_UNITS_S[match[2] as string] as number) : Number.NaN;
  }
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > MAX_LIFETIME_S) {
    throw new TypeError(
      `signClientToken: expiresIn must be a whole number of seconds or a span like '15m', '1h', from 1 s to 24 h; got ${JSON.stringify(expiresIn)}`,
    );
  }
  return seconds;
}

/**
 * Signs a client token (a JWT) that a Roomwire node accepts: claims `org`, `services`, optional
 * `sub`, `iat` and `exp`; HS256 with the nodes' shared secret, or RS256/ES256 with a private JWK
 * whose public half the nodes read from their `JWKS_URL`. Call it from your backend's token
 * endpoint, after your own authentication decided which org and services the user may see.
 * Throws a `TypeError` naming the bad option (a name outside the safe alphabet, no key or two keys,
 * a public or unsupported key, a lifetime outside 1 s – 24 h).
 *
 * @example
 * const token = await signClientToken({
 *   org: 'acme', services: ['billing'], sub: user.id, expiresIn: '1h', secret: process.env.JWT_SECRET,
 * });
 */
export async function signClientToken(options: SignClientTokenOptions): Promise<string> {
  const { org, services, sub, publish, secret, privateKey, issuer, audience } = options;
  const claims = claimsSchema.safeParse({ org, services, sub, publish });
  if (!claims.success) {
    const issue = claims.error.issues[0];
    throw new TypeError(`signClientToken: ${issue?.path.join('.') || 'claims'}: ${issue?.message ?? 'invalid'} (names: letters, digits, "_" and "-", at most 64)`);
  }
  if ((secret === undefined) === (privateKey === undefined)) {
    throw new TypeError('signClientToken: set exactly one of secret (HS256) and privateKey (a private RS256/ES256 JWK)');
  }
  const lifetime = lifetimeSeconds(options.expiresIn ?? clientTokenDefaults.expiresIn);

  let key: Uint8Array | KeyLike;
  let header: { alg: string; kid?: string; typ: 'JWT' };
  if (secret !== undefined) {
    if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new TypeError(`signClientToken: secret must be at least ${MIN_SECRET_BYTES} bytes (HS256 key strength)`);
    key = new TextEncoder().encode(secret);
    header = { alg: 'HS256', typ: 'JWT' };
  } else {
    const jwk = privateKey as JWK;
    if (!isPrivateSigningJwk(jwk)) {
      throw new TypeError(
        `signClientToken: privateKey must be a private JWK with "kid" and "alg" ${SIGNING_ALGORITHMS.join(' or ')} (see generateSigningKey); got alg ${JSON.stringify(jwk.alg)}, kid ${JSON.stringify(jwk.kid)}`,
      );
    }
    key = await importJWK(jwk, jwk.alg as SigningAlgorithm);
    header = { alg: jwk.alg as SigningAlgorithm, kid: jwk.kid as string, typ: 'JWT' };
  }

  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ org: claims.data.org, services: claims.data.services, ...(claims.data.publish === undefined ? {} : { publish: claims.data.publish }) })
    .setProtectedHeader(header)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetime);
  if (claims.data.sub !== undefined) jwt.setSubject(claims.data.sub);
  if (issuer !== undefined) jwt.setIssuer(issuer);
  if (audience !== undefined) jwt.setAudience(audience);
  return jwt.sign(key);
}
