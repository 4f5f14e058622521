import { PassThrough } from 'node:stream';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { generateSigningKey, jwksDocument, signClientToken, toPublicJwk } from '@roomwire/server';
import { runKeygen } from '../server/src/auth/keygen-command';
import { createTokenVerifier } from '../server/src/auth/verify-token';
import { TEST_JWT_SECRET } from './support/tokens';

// signClientToken's tokens are checked with the node's own verifier (createTokenVerifier), the code a
// handshake runs; a token it refuses would never connect.

test('an HS256 token carries org, services, sub, iat and exp, and the node verifies it', async () => {
  const before = Math.floor(Date.now() / 1000);
  const token = await signClientToken({ org: 'acme', services: ['billing'], sub: 'user-42', expiresIn: '15m', secret: TEST_JWT_SECRET });
  const claims = await createTokenVerifier({ jwtSecret: TEST_JWT_SECRET })(token);
  expect(claims).toEqual({ org: 'acme', services: ['billing'], sub: 'user-42', exp: expect.any(Number) });
  const payload = decodeJwt(token);
  expect(payload.exp! - payload.iat!).toBe(15 * 60);
  expect(payload.iat).toBeGreaterThanOrEqual(before);
  expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
});

test('the default lifetime is one hour; issuer and audience are set when given and checked by the node', async () => {
  const token = await signClientToken({ org: 'acme', services: '*', secret: TEST_JWT_SECRET, issuer: 'https://app.example', audience: 'roomwire' });
  const payload = decodeJwt(token);
  expect(payload.exp! - payload.iat!).toBe(3600);
  await expect(createTokenVerifier({ jwtSecret: TEST_JWT_SECRET, issuer: 'https://app.example', audience: 'roomwire' })(token)).resolves.toMatchObject({ services: '*' });
  await expect(createTokenVerifier({ jwtSecret: TEST_JWT_SECRET, issuer: 'https://other.example' })(token)).rejects.toMatchObject({ code: 'RW_ERR_UNAUTHORIZED' });
});

test.each(['ES256', 'RS256'] as const)('a %s token names its key id and verifies with the public key alone', async (alg) => {
  const key = await generateSigningKey({ alg, kid: `k-${alg}` });
  expect(key.publicJwk).toMatchObject({ kid: `k-${alg}`, alg, use: 'sig' });
  expect(key.publicJwk).not.toHaveProperty('d');
  expect(key.privateJwk).toHaveProperty('d');
  const token = await signClientToken({ org: 'acme', services: ['tickets'], privateKey: key.privateJwk });
  expect(decodeProtectedHeader(token)).toEqual({ alg, kid: `k-${alg}`, typ: 'JWT' });
  // The verifier's JWKS path, with the key set a backend serves.
  const { createLocalJWKSet, jwtVerify } = await import('jose');
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwksDocument([key.privateJwk])), { algorithms: [alg] });
  expect(payload).toMatchObject({ org: 'acme', services: ['tickets'] });
});

test('bad options are refused with a TypeError that names them, and nothing is signed', async () => {
  const key = await generateSigningKey();
  const cases: [Parameters<typeof signClientToken>[0], RegExp][] = [
    [{ org: 'acme:evil', services: '*', secret: TEST_JWT_SECRET }, /org/],
    [{ org: 'acme', services: ['bill ing'], secret: TEST_JWT_SECRET }, /services/],
    [{ org: 'acme', services: '*' }, /exactly one of secret/],
    [{ org: 'acme', services: '*', secret: TEST_JWT_SECRET, privateKey: key.privateJwk }, /exactly one of secret/],
    [{ org: 'acme', services: '*', secret: 'short' }, /at least 32 bytes/],
    [{ org: 'acme', services: '*', privateKey: key.publicJwk }, /private JWK/],
    [{ org: 'acme', services: '*', secret: TEST_JWT_SECRET, expiresIn: '2 weeks' }, /expiresIn/],
    [{ org: 'acme', services: '*', secret: TEST_JWT_SECRET, expiresIn: 0 }, /expiresIn/],
    [{ org: 'acme', services: '*', secret: TEST_JWT_SECRET, expiresIn: '25h' }, /expiresIn/],
  ];
  for (const [options, message] of cases) {
    await expect(signClientToken(options)).rejects.toThrow(TypeError);
    await expect(signClientToken(options)).rejects.toThrow(message);
  }
});

test('a JWKS document lists public keys only and refuses keys without a kid, duplicates and symmetric keys', async () => {
  const current = await generateSigningKey({ kid: 'current' });
  const retired = await generateSigningKey({ alg: 'RS256', kid: 'retired' });
  const doc = jwksDocument([current.privateJwk, retired.publicJwk]);
  expect(doc.keys.map((k) => k.kid)).toEqual(['current', 'retired']);
  expect(doc.keys).toEqual([current.publicJwk, retired.publicJwk]);
  expect(JSON.stringify(doc)).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
  expect(toPublicJwk(retired.privateJwk)).toEqual(retired.publicJwk);
  expect(() => jwksDocument([current.publicJwk, current.publicJwk])).toThrow('duplicate kid');
  expect(() => jwksDocument([{ ...current.publicJwk, kid: undefined }])).toThrow('kid');
  expect(() => jwksDocument([{ kty: 'oct', k: 'c2VjcmV0', kid: 'hs' }])).toThrow('not an EC or RSA key');
});

describe('roomwire keygen', () => {
  async function keygen(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out = new PassThrough();
    const err = new PassThrough();
    let outText = '';
    let errText = '';
    out.on('data', (c: Buffer) => (outText += c.toString()));
    err.on('data', (c: Buffer) => (errText += c.toString()));
    const code = await runKeygen(args, out, err);
    return { code, out: outText, err: errText };
  }

  test('prints a usable key pair as JSON', async () => {
    const { code, out } = await keygen(['--alg', 'RS256', '--kid', '2026-12']);
    expect(code).toBe(0);
    const key = JSON.parse(out) as Awaited<ReturnType<typeof generateSigningKey>>;
    expect(key.publicJwk).toMatchObject({ kty: 'RSA', kid: '2026-12', alg: 'RS256' });
    const token = await signClientToken({ org: 'acme', services: '*', privateKey: key.privateJwk });
    expect(decodeProtectedHeader(token).kid).toBe('2026-12');
  });

  test('refuses an unknown algorithm or flag with the usage and exit code 2', async () => {
    for (const args of [['--alg', 'HS256'], ['--bogus']]) {
      const { code, out, err } = await keygen(args);
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toMatch(/usage: roomwire keygen/);
    }
  });
});
