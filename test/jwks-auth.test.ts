import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createNode, type RoomwireNode } from '@roomwire/server';
import type { RwErrorPayload } from '@roomwire/shared';
import { handshake as connect } from './support/handshake';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY } from './support/tokens';
import pino from 'pino';

let jwks: Server;
let node: RoomwireNode;
let privateKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey as CryptoKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  node = await createNode({ auth: { jwksUrl: url, issuer: 'https://id.example', audience: 'roomwire' }, publishApiKey: TEST_PUBLISH_KEY, logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await node?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

const handshake = (token: string): Promise<'connected' | RwErrorPayload> => connect(node.url, token);

const rs256 = (claims: Record<string, unknown>, header: { kid?: string } = { kid: 'k1' }) =>
  new SignJWT({ org: 'acme', services: '*', ...claims }).setProtectedHeader({ alg: 'RS256', ...header }).setExpirationTime('5m');

test('RS256 tokens from the JWKS are accepted, with the configured issuer and audience', async () => {
  expect(await handshake(await rs256({}).setIssuer('https://id.example').setAudience('roomwire').sign(privateKey))).toBe('connected');
});

test('wrong issuer or audience, a foreign key, and HS/RS confusion are refused', async () => {
  expect(await handshake(await rs256({}).setIssuer('https://evil.example').setAudience('roomwire').sign(privateKey))).toMatchObject({ code: 'RW_ERR_UNAUTHORIZED' });
  expect(await handshake(await rs256({}).setIssuer('https://id.example').setAudience('other').sign(privateKey))).toMatchObject({ code: 'RW_ERR_UNAUTHORIZED' });
  const stranger = await generateKeyPair('RS256');
  expect(await handshake(await rs256({}).setIssuer('https://id.example').setAudience('roomwire').sign(stranger.privateKey))).toMatchObject({ code: 'RW_ERR_UNAUTHORIZED' });
  // An HS256 token signed with some secret must not pass where only the key set's algorithms are allowed.
  const hs = await new SignJWT({ org: 'acme', services: '*' })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setIssuer('https://id.example')
    .setAudience('roomwire')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(TEST_JWT_SECRET));
  expect(await handshake(hs)).toMatchObject({ code: 'RW_ERR_UNAUTHORIZED' });
});
