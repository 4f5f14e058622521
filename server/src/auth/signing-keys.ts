import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** Asymmetric algorithms the nodes accept from a JWKS (see `createTokenVerifier`). */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;

/** An algorithm of {@link SIGNING_ALGORITHMS}. */
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** A key pair for client tokens, as JWKs that both carry the same `kid` and `alg`. */
export interface SigningKey {
  /** Keep secret (a secret manager, not the repository): {@link signClientToken} signs with it. */
  privateJwk: JWK;
  /** Publish it in your JWKS ({@link jwksDocument}); the nodes verify tokens with it. */
  publicJwk: JWK;
}

/** Options of {@link generateSigningKey}. */
export interface GenerateSigningKeyOptions {
  /** ES256 (small tokens, fast) or RS256 (for verifiers that only know RSA). @default 'ES256' */
  alg?: SigningAlgorithm;
  /** Key id, written into every token's header so that nodes pick the right key of the set. @default a random id */
  kid?: string;
}

/** Private members of RSA and EC JWKs: never published. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'] as const;

/** Why: only an asymmetric private key with an id and an accepted algorithm can sign tokens that nodes verify from a JWKS. */
export function isPrivateSigningJwk(jwk: JWK | undefined): boolean {
  return (
    jwk !== undefined &&
    typeof jwk.d === 'string' &&
    typeof jwk.kid === 'string' &&
    jwk.kid.length > 0 &&
    (SIGNING_ALGORITHMS as readonly string[]).includes(jwk.alg ?? '')
  );
}

/**
 * Generates a key pair for signing client tokens (`roomwire keygen` prints one).
 *
 * @example
 * const { privateJwk, publicJwk } = await generateSigningKey({ alg: 'ES256', kid: '2026-12' });
 */
export async function generateSigningKey(options: GenerateSigningKeyOptions = {}): Promise<SigningKey> {
  const alg = options.alg ?? 'ES256';
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new TypeError(`generateSigningKey: alg must be ${SIGNING_ALGORITHMS.join(' or ')}, got ${JSON.stringify(alg)}`);
  }
  const kid = options.kid ?? randomBytes(8).toString('hex');
  const pair = await generateKeyPair(alg, { extractable: true });
  const common = { kid, alg, use: 'sig' };
  return {
    privateJwk: { ...(await exportJWK(pair.privateKey)), ...common },
    publicJwk: { ...(await exportJWK(pair.publicKey)), ...common },
  };
}

/** The public half of a JWK: the same key without its private members. */
export function toPublicJwk(jwk: JWK): JWK {
  const copy: JWK & Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  return copy;
}

/**
 * The JSON Web Key Set document to serve at the URL the nodes read (`JWKS_URL`), e.g. as
 * `GET /.well-known/jwks.json` of your backend. Private or public JWKs may be passed; only public
 * members are returned. List the current key and every retired key whose tokens may still be
 * alive (see README, "Client tokens": rotation). Throws a `TypeError` on a key without `kid` or with
 * a duplicate `kid`, or a key that is not EC or RSA.
 *
 * @example
 * res.end(JSON.stringify(jwksDocument([current.publicJwk, previous.publicJwk])));
 */
export function jwksDocument(keys: readonly JWK[]): { keys: JWK[] } {
  const seen = new Set<string>();
  for (const key of keys) {
    if (typeof key.kid !== 'string' || key.kid.length === 0) throw new TypeError('jwksDocument: every key needs a "kid"');
    // A symmetric (oct) key has no public half: publishing it would publish the secret.
    if (key.kty !== 'EC' && key.kty !== 'RSA') throw new TypeError(`jwksDocument: key ${JSON.stringify(key.kid)} is not an EC or RSA key (kty ${JSON.stringify(key.kty)})`);
    if (seen.has(key.kid)) throw new TypeError(`jwksDocument: duplicate kid ${JSON.stringify(key.kid)}`);
    seen.add(key.kid);
  }
  return { keys: keys.map(toPublicJwk) };
}
