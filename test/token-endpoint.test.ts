import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { decodeProtectedHeader } from 'jose';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { createNode, generateSigningKey, type RoomwireNode } from '@roomwire/server';
import { JWKS_PATH, TOKEN_PATH, createTokenEndpoint, type RealtimeGrant, type TokenEndpointOptions } from '../examples/token-endpoint/token-endpoint';
import { handshake } from './support/handshake';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, uniqueOrg } from './support/tokens';
import { waitUntil } from './harness';

// The example backend of examples/token-endpoint, in front of a real node: the client's `token`
// function fetches from it exactly as the README shows, over real HTTP.

const servers: Server[] = [];
const nodes: RoomwireNode[] = [];
const clients: RoomwireClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A session check standing in for the app's: `Authorization: Bearer <user>` of a known user. */
function sessions(grants: Record<string, RealtimeGrant>): TokenEndpointOptions['authenticate'] {
  return async (req: IncomingMessage) => grants[/^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''];
}

/** Serves `handler` on a free loopback port; returns its base URL. */
async function serve(handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => boolean): Promise<string> {
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const fetchToken = (backend: string, user: string) => async (): Promise<string> => {
  const res = await fetch(`${backend}${TOKEN_PATH}`, { method: 'POST', headers: { Authorization: `Bearer ${user}` } });
  if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
  return res.text();
};

test('HS256: a client fetching its token from the endpoint connects, receives its service, and is refused the others', async () => {
  const org = uniqueOrg('tok');
  const backend = await serve(
    createTokenEndpoint({ authenticate: sessions({ alice: { userId: 'alice', org, services: ['billing'] } }), signing: { secret: TEST_JWT_SECRET }, expiresIn: '10m' }),
  );
  const node = await createNode({ auth: { jwtSecret: TEST_JWT_SECRET }, publishApiKey: TEST_PUBLISH_KEY, logger: pino({ level: 'silent' }) });
  nodes.push(node);

  const client = createClient({ url: node.url, token: fetchToken(backend, 'alice'), services: ['billing'] });
  clients.push(client);
  const received: string[] = [];
  client.on('billing', 'invoice.paid', (data) => received.push(data.invoiceId));
  await waitUntil(() => client.state === 'connected', { what: 'the client to connect with the endpoint\'s token' });
  await client.subscribe('billing');
  await node.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_tok', amountCents: 1 } });
  await waitUntil(() => received.includes('in_tok'), { what: 'the published event' });
  await expect(client.subscribe('tickets')).rejects.toMatchObject({ code: 'RW_ERR_FORBIDDEN' });
});

test('the endpoint answers 401 without a session, 405 to GET, and never lets a token be cached', async () => {
  const backend = await serve(createTokenEndpoint({ authenticate: sessions({ alice: { userId: 'alice', org: 'acme', services: '*' } }), signing: { secret: TEST_JWT_SECRET } }));
  const anonymous = await fetch(`${backend}${TOKEN_PATH}`, { method: 'POST' });
  expect(anonymous.status).toBe(401);
  expect(await anonymous.json()).toMatchObject({ error: { code: 'RW_ERR_UNAUTHORIZED' } });
  const get = await fetch(`${backend}${TOKEN_PATH}`, { headers: { Authorization: 'Bearer alice' } });
  expect(get.status).toBe(405);
  await get.body?.cancel();
  const ok = await fetch(`${backend}${TOKEN_PATH}`, { method: 'POST', headers: { Authorization: 'Bearer alice' } });
  expect(ok.status).toBe(200);
  expect(ok.headers.get('cache-control')).toBe('no-store');
  expect(await ok.text()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  // HS256: there is no key set to publish.
  expect((await fetch(`${backend}${JWKS_PATH}`)).status).toBe(404);
});

test('ES256 with the JWKS served by the endpoint, through a key rotation: tokens of the retired key keep working, new ones use the new key', async () => {
  const org = uniqueOrg('rot');
  const grants = sessions({ alice: { userId: 'alice', org, services: ['billing'] } });
  const first = await generateSigningKey({ kid: 'k1' });
  const second = await generateSigningKey({ kid: 'k2' });
  // Step 1: k1 signs; k2 is already published, so nodes know it before any token names it.
  let endpoint = createTokenEndpoint({ authenticate: grants, signing: { signingKey: first.privateJwk, alsoPublish: [second.publicJwk] } });
  const backend = await serve((req, res) => endpoint(req, res));
  const jwks = (await (await fetch(`${backend}${JWKS_PATH}`)).json()) as { keys: { kid: string; d?: string }[] };
  expect(jwks.keys.map((k) => k.kid)).toEqual(['k1', 'k2']);
  expect(jwks.keys.some((k) => k.d !== undefined)).toBe(false);

  const node = await createNode({ auth: { jwksUrl: `${backend}${JWKS_PATH}` }, publishApiKey: TEST_PUBLISH_KEY, logger: pino({ level: 'silent' }) });
  nodes.push(node);
  const oldToken = await fetchToken(backend, 'alice')();
  expect(decodeProtectedHeader(oldToken).kid).toBe('k1');
  expect(await handshake(node.url, oldToken)).toBe('connected');

  // Step 2: k2 signs; k1 stays published until the last token it signed has expired.
  endpoint = createTokenEndpoint({ authenticate: grants, signing: { signingKey: second.privateJwk, alsoPublish: [first.publicJwk] } });
  const client = createClient({ url: node.url, token: fetchToken(backend, 'alice'), services: ['billing'] });
  clients.push(client);
  const received: string[] = [];
  client.on('billing', 'invoice.paid', (data) => received.push(data.invoiceId));
  await waitUntil(() => client.state === 'connected', { what: 'a client with a k2 token to connect' });
  expect(decodeProtectedHeader(await fetchToken(backend, 'alice')()).kid).toBe('k2');
  expect(await handshake(node.url, oldToken)).toBe('connected');
  await client.subscribe('billing');
  await node.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_rot', amountCents: 2 } });
  await waitUntil(() => received.includes('in_rot'), { what: 'the event on the k2 client' });

  // A key the set does not list is refused.
  const stranger = await generateSigningKey({ kid: 'k9' });
  const forged = createTokenEndpoint({ authenticate: grants, signing: { signingKey: stranger.privateJwk } });
  const forger = await serve(forged);
  expect(await handshake(node.url, await fetchToken(forger, 'alice')())).toMatchObject({ code: 'RW_ERR_UNAUTHORIZED' });
});
