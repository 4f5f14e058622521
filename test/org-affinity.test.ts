import { readFile } from 'node:fs/promises';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { createPublisher, type Publisher } from '@roomwire/server';
import { AFFINITY_QUERY_PARAM } from '@roomwire/shared';
import { HAPROXY_AFFINITY_CONFIG, HAPROXY_CONFIG } from '../infra/cluster/haproxy';
import { startLocalCluster, type LocalCluster, type LocalNode } from '../infra/cluster/launch-cluster';
import { partitionOf } from '../server/src/stream/partitions';
import { waitUntil } from './harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken } from './support/tokens';

/**
 * Org affinity: HAProxy running infra/haproxy/haproxy-affinity.cfg routes each handshake by
 * its `org` query parameter (consistent hashing), so every client of an org lands on one node and each
 * node reads only the partitions of its orgs. The parameter is a routing hint, never authorization.
 */

const PARTITIONS = 16;
/** Fixed names: the cluster is private to this file, and fixed names make the hash ring's spread reproducible. */
const ORGS = Array.from({ length: 12 }, (_, i) => `affinity-${String(i + 1).padStart(2, '0')}`);
/** Per org: two WebSocket clients and one long-polling one (which needs the stickiness cookie the variant keeps). */
const TRANSPORTS: ('websocket' | 'polling')[][] = [['websocket'], ['websocket'], ['polling']];

let cluster: LocalCluster;
let publisher: Publisher;
const clients: RoomwireClient[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster({
    balancer: 'haproxy-affinity',
    jwtSecret: TEST_JWT_SECRET,
    publishApiKey: TEST_PUBLISH_KEY,
    env: { STREAM_PARTITIONS: String(PARTITIONS), RATE_LIMIT_HANDSHAKES_PER_IP_PER_10S: '100000' },
  });
  publisher = await createPublisher({ redisUrl: cluster.redis.url, streamPartitions: PARTITIONS });
}, 150_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await publisher?.close();
  await cluster?.stop();
}, 60_000);

/** The directives of a HAProxy config: no comments, no blank lines. */
function directives(config: string): string[] {
  return config
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

interface Watched {
  org: string;
  client: RoomwireClient;
  /** Orgs of the events the app got, by event id. */
  received: Map<string, string>;
}

function open(tokenOrg: string, affinityOrg: string, transports: ('websocket' | 'polling')[]): Watched {
  const client = createClient({
    url: cluster.url,
    token: () => signToken({ org: tokenOrg, services: ['billing'] }),
    services: ['billing'],
    affinityOrg,
    transports,
  });
  clients.push(client);
  const watched: Watched = { org: tokenOrg, client, received: new Map() };
  client.on('billing', 'invoice.paid', (_data, envelope) => watched.received.set(envelope.id, envelope.org));
  return watched;
}

/** Which servers of the backend HAProxy sent the requests carrying each value of the `org` parameter to. */
async function serversByOrg(): Promise<Map<string, Set<string>>> {
  const byOrg = new Map<string, Set<string>>();
  for (const line of await cluster.balancer.accessLog()) {
    const org = new RegExp(`[?&]${AFFINITY_QUERY_PARAM}=([^&\\s"]+)`).exec(line)?.[1];
    const server = /roomwire_nodes\/(\S+)/.exec(line)?.[1];
    if (org === undefined || server === undefined) continue;
    byOrg.set(org, (byOrg.get(org) ?? new Set()).add(server));
  }
  return byOrg;
}

async function metricsOf(node: LocalNode): Promise<{ partitionsRead: number; entriesReadPartitions: number[] }> {
  const text = await (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const gauge = /^roomwire_partitions_read(?:\{[^}]*\})? (\d+)$/m.exec(text);
  if (!gauge) throw new Error(`no roomwire_partitions_read in ${node.name}'s /metrics`);
  const entriesReadPartitions = [...text.matchAll(/^roomwire_stream_entries_read_total\{[^}]*partition="(\d+)"[^}]*\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm)]
    .filter((m) => Number(m[2]) > 0)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  return { partitionsRead: Number(gauge[1]), entriesReadPartitions };
}

test('the affinity config is haproxy.cfg but for the backend balance lines', async () => {
  const plain = directives(await readFile(HAPROXY_CONFIG, 'utf8'));
  const affinity = directives(await readFile(HAPROXY_AFFINITY_CONFIG, 'utf8'));
  expect(affinity.filter((line) => !line.startsWith('balance ') && !line.startsWith('hash-type '))).toEqual(plain.filter((line) => !line.startsWith('balance ')));
  expect(affinity).toContain(`balance url_param ${AFFINITY_QUERY_PARAM}`);
  expect(affinity).toContain('hash-type consistent');
  // Stickiness stays: long-polling needs every request of a session on the node that made it.
  expect(affinity.some((line) => line.startsWith('cookie rw_node insert'))).toBe(true);
});

test("through HAProxy with org affinity, each org's clients land on one node and each node reads only its orgs' partitions", async () => {
  const watched = ORGS.flatMap((org) => TRANSPORTS.map((transports) => open(org, org, transports)));
  await waitUntil(() => watched.every((w) => w.client.state === 'connected'), { what: `${watched.length} clients connected`, timeoutMs: 30_000 });
  const sent = new Map<string, string>();
  for (const org of ORGS) sent.set(org, (await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `to-${org}`, amountCents: 1 })).id);
  await waitUntil(() => watched.every((w) => w.received.has(sent.get(w.org) as string)), { what: "every client to get its org's event", timeoutMs: 20_000 });
  // Nothing of another org reached anyone.
  expect(watched.filter((w) => [...w.received.values()].some((org) => org !== w.org)).length).toBe(0);

  const read = await Promise.all(cluster.nodes.map((node) => metricsOf(node)));
  for (const client of watched) client.client.close();
  // HAProxy logs a WebSocket when it closes: wait for the handshake line of every WebSocket client.
  const websocketLines = async (): Promise<number> =>
    (await cluster.balancer.accessLog()).filter((line) => line.includes('transport=websocket') && line.includes(`${AFFINITY_QUERY_PARAM}=affinity-`)).length;
  const websockets = watched.filter((_, i) => TRANSPORTS[i % TRANSPORTS.length]?.[0] === 'websocket').length;
  await waitUntil(async () => (await websocketLines()) >= websockets, { what: `the ${websockets} WebSocket handshakes in the access log`, timeoutMs: 10_000 });
  const byOrg = await serversByOrg();
  const spread = Object.fromEntries(ORGS.map((org) => [org, [...(byOrg.get(org) ?? [])]]));
  // Every request of every client of an org (handshakes, polls, upgrades) went to one node.
  expect(Object.values(spread).filter((servers) => servers.length !== 1)).toEqual([]);

  const usedPartitions = new Set(ORGS.map((org) => partitionOf(org, PARTITIONS)));
  cluster.nodes.forEach((node, i) => {
    const orgs = ORGS.filter((org) => spread[org]?.[0] === node.name);
    const expected = [...new Set(orgs.map((org) => partitionOf(org, PARTITIONS)))].sort((a, b) => a - b);
    const metrics = read[i] as Awaited<ReturnType<typeof metricsOf>>;
    expect({ node: node.name, orgs: orgs.length > 0, partitionsRead: metrics.partitionsRead, entriesRead: metrics.entriesReadPartitions }).toEqual({
      node: node.name,
      orgs: true,
      partitionsRead: expected.length,
      entriesRead: expected,
    });
    // A subset: without affinity (leastconn), 36 clients of 12 orgs would have had each node read nearly every partition.
    expect(metrics.partitionsRead).toBeLessThan(usedPartitions.size);
  });
}, 90_000);

test('the org parameter routes only: a token for one org with another org as its affinity sees only its own org', async () => {
  const [orgA, orgB] = ORGS as [string, string];
  const linesOfB = async (): Promise<number> => (await cluster.balancer.accessLog()).filter((line) => line.includes(`${AFFINITY_QUERY_PARAM}=${orgB} `) || line.includes(`${AFFINITY_QUERY_PARAM}=${orgB}&`)).length;
  const before = await linesOfB();
  const mixed = open(orgA, orgB, ['websocket']);
  const ofB = open(orgB, orgB, ['websocket']);
  await waitUntil(() => mixed.client.state === 'connected' && ofB.client.state === 'connected', { what: 'both clients connected', timeoutMs: 20_000 });
  const toB = await publisher.to(orgB, 'billing').emit('invoice.paid', { invoiceId: 'only-b', amountCents: 2 });
  const toA = await publisher.to(orgA, 'billing').emit('invoice.paid', { invoiceId: 'only-a', amountCents: 3 });
  // B's event reached B's client, on the node the mixed client was routed to as well.
  await waitUntil(() => ofB.received.has(toB.id) && mixed.received.has(toA.id), { what: "B's event on B's client and A's on the mixed one", timeoutMs: 20_000 });
  expect([...mixed.received.values()]).toEqual([orgA]);
  mixed.client.close();
  ofB.client.close();
  await waitUntil(async () => (await linesOfB()) >= before + 2, {
    what: "the two clients' handshakes in the access log",
    timeoutMs: 10_000,
  });
  // Both were routed by B: the mixed client's socket sat on B's node and still saw nothing of B.
  expect((await serversByOrg()).get(orgB)?.size).toBe(1);
}, 60_000);
