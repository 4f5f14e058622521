import pino from 'pino';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { createNode, type RoomwireNode } from '@roomwire/server';
import { freePort, spawnNode, waitUntil, type ChildNodeHandle } from './harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

const nodes: RoomwireNode[] = [];
const clients: RoomwireClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

async function startNode(statusPage?: boolean): Promise<RoomwireNode> {
  const node = await createNode({
    auth: { jwtSecret: TEST_JWT_SECRET },
    publishApiKey: TEST_PUBLISH_KEY,
    logger: pino({ level: 'silent' }),
    ...(statusPage === undefined ? {} : { statusPage }),
  });
  nodes.push(node);
  return node;
}

const statusOf = async (url: string, path: string): Promise<number> => {
  const res = await fetch(`${url}${path}`);
  await res.body?.cancel();
  return res.status;
};

test('statusPage: false removes the page, its assets and /v1/status (404), and nothing else', async () => {
  const off = await startNode(false);
  for (const path of ['/', '/v1/status', '/assets/roomwire-client.mjs']) expect({ path, status: await statusOf(off.url, path) }).toEqual({ path, status: 404 });
  expect(await statusOf(off.url, '/healthz')).toBe(200);
  const on = await startNode();
  expect(await statusOf(on.url, '/v1/status')).toBe(200);
});

test('"rooms" counts org and service rooms, not each socket\'s own room nor internal rooms', async () => {
  const node = await startNode();
  const [a, b] = [uniqueOrg('a'), uniqueOrg('b')];
  const open = async (org: string, services: ('billing' | 'tickets')[]): Promise<void> => {
    const client = createClient({ url: node.url, token: await signToken({ org, services: '*' }), services });
    clients.push(client);
    await waitUntil(() => client.state === 'connected', { what: `a client of ${org} to connect` });
    for (const service of services) await client.subscribe(service);
  };
  await open(a, ['billing']);
  await open(a, ['billing']);
  await open(a, ['billing']);
  await open(b, ['billing', 'tickets']);
  const status = (await (await fetch(`${node.url}/v1/status`)).json()) as { connections: number; rooms: number };
  // org:a, org:a:svc:billing, org:b, org:b:svc:billing, org:b:svc:tickets
  expect(status).toMatchObject({ connections: 4, rooms: 5 });
});

test('the CLI in production serves no status page unless STATUS_PAGE=true', async () => {
  const run = async (env: Record<string, string>): Promise<{ node: ChildNodeHandle; url: string }> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const base = { NODE_ENV: 'production', PORT: String(port), HOST: '', JWT_SECRET: TEST_JWT_SECRET.replace('secret', 'k3y'), PUBLISH_API_KEY: 'p7-0123456789abcdef', REDIS_URL: '', JWKS_URL: '', ROOMWIRE_CATALOG: '', STATUS_PAGE: '' };
    return { node: await spawnNode({ env: { ...base, ...env }, readyUrl: `${url}/healthz` }), url };
  };
  const quiet = await run({});
  try {
    expect(await statusOf(quiet.url, '/v1/status')).toBe(404);
    expect(await statusOf(quiet.url, '/')).toBe(404);
  } finally {
    await quiet.node.kill('SIGKILL');
  }
  const asked = await run({ STATUS_PAGE: 'true' });
  try {
    expect(await statusOf(asked.url, '/v1/status')).toBe(200);
  } finally {
    await asked.node.kill('SIGKILL');
  }
}, 60_000);
