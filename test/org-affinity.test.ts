import { readFile } from 'node:fs/promises';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { createPublisher, type Publisher } from '@roomwire/server';
import { AFFINITY_QUERY_PARAM, partitionOfOrg } from '@roomwire/shared';
import { HAPROXY_AFFINITY_CONFIG, HAPROXY_CONFIG } from '../infra/cluster/haproxy';
import { startLocalCluster, type LocalCluster, type LocalNode } from '../infra/cluster/launch-cluster';
import { waitUntil } from './harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken } from './support/tokens';

/**
 * Partition affinity: HAProxy running infra/haproxy/haproxy-affinity.cfg routes each handshake by its
 * `rw_partition` query parameter (consistent hashing), which the client sets to its org's stream
 * partition (`createClient({ affinity: { org, partitions } })`). So every client of a partition lands on
 * one node, and each node reads only its partitions, however many orgs share them. The parameter is a
 * routing hint, never authorization.
 */

const PARTITIONS = 16;
/** Fixed names: the cluster is private to this file, and fixed names make the hash ring's spread reproducible. */
const ORGS = Array.from({ length: 60 }, (_, i) => `affinity-${String(i + 1).padStart(2, '0')}`);
/** Per org one WebSocket client; every fifth org also a long-polling one (which needs the stickiness cookie the variant keeps). */
const transportsOf = (i: number): ('websocket' | 'polling')[][] => (i % 5 === 0 ? [['websocket'], ['polling']] : [['websocket']]);

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
    // What a token endpoint returns next to the token: the publisher knows the deployment's partition count.
    affinity: publisher.affinityFor(affinityOrg),
    transports,
  });
  clients.push(client);
  const watched: Watched = { org: tokenOrg, client, received: new Map() };
  client.on('billing', 'invoice.paid', (_data, envelope) => watched.received.set(envelope.id, envelope.org));
  return watched;
}

/** Which servers of the backend HAProxy sent the requests carrying each value of the `rw_partition` parameter to. */
async function serversByPartition(): Promise<Map<number, Set<string>>> {
  const byPartition = new Map<number, Set<string>>();
  for (const line of await cluster.balancer.accessLog()) {
    const partition = new RegExp(`[?&]${AFFINITY_QUERY_PARAM}=(\\d+)[&\\s"]`).exec(line)?.[1];
    const server = /roomwire_nodes\/(\S+)/.exec(line)?.[1];
    if (partition === undefined || server === undefined) continue;
    byPartition.set(Number(partition), (byPartition.get(Number(partition)) ?? new Set()).add(server));
  }
  return byPartition;
}

/** Access-log lines of requests that carried `rw_partition=<partition>`. */
async function linesOfPartition(partition: number): Promise<number> {
  const pattern = new RegExp(`[?&]${AFFINITY_QUERY_PARAM}=${partition}[&\\s"]`);
  return (await cluster.balancer.accessLog()).filter((line) => pattern.test(line)).length;
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

test("the publisher's affinityFor gives the org and its partition count", () => {
  expect(publisher.affinityFor('acme')).toEqual({ org: 'acme', partitions: PARTITIONS });
  expect(() => publisher.affinityFor('acme:billing')).toThrow(/affinity\.org/);
});

test('the affinity config is haproxy.cfg but for the backend balance lines', async () => {
  const plain = directives(await readFile(HAPROXY_CONFIG, 'utf8'));
  const affinity = directives(await readFile(HAPROXY_AFFINITY_CONFIG, 'utf8'));
  expect(affinity.filter((line) => !line.startsWith('balance ') && !line.startsWith('hash-type '))).toEqual(plain.filter((line) => !line.startsWith('balance ')));
  expect(affinity).toContain(`balance url_param ${AFFINITY_QUERY_PARAM}`);
  expect(affinity).toContain('hash-type consistent');
  // Stickiness stays: long-polling needs every request of a session on the node that made it.
  expect(affinity.some((line) => line.startsWith('cookie rw_node insert'))).toBe(true);
});

test("through HAProxy with partition affinity, each partition's clients land on one node and each node reads only its partitions", async () => {
  const watched = ORGS.flatMap((org, i) => transportsOf(i).map((transports) => open(org, org, transports)));
  await waitUntil(() => watched.every((w) => w.client.state === 'connected'), { what: `${watched.length} clients connected`, timeoutMs: 60_000 });
  const sent = new Map<string, string>();
  for (const org of ORGS) sent.set(org, (await publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `to-${org}`, amountCents: 1 })).id);
  await waitUntil(() => watched.every((w) => w.received.has(sent.get(w.org) as string)), { what: "every client to get its org's event", timeoutMs: 30_000 });
  // Nothing of another org reached anyone.
  expect(watched.filter((w) => [...w.received.values()].some((org) => org !== w.org)).length).toBe(0);

  const read = await Promise.all(cluster.nodes.map((node) => metricsOf(node)));
  for (const client of watched) client.client.close();
  // HAProxy logs a WebSocket when it closes: wait for the handshake line of every WebSocket client.
  const websocketLines = async (): Promise<number> =>
    (await cluster.balancer.accessLog()).filter((line) => line.includes('transport=websocket') && line.includes(`${AFFINITY_QUERY_PARAM}=`)).length;
  await waitUntil(async () => (await websocketLines()) >= ORGS.length, { what: `the ${ORGS.length} WebSocket handshakes in the access log`, timeoutMs: 20_000 });
  const byPartition = await serversByPartition();
  const usedPartitions = [...new Set(ORGS.map((org) => partitionOfOrg(org, PARTITIONS)))].sort((a, b) => a - b);
  // 60 orgs cover all 16 partitions: by org name, each node's ~20 orgs would cover nearly all of them.
  expect(usedPartitions.length).toBe(PARTITIONS);
  expect([...byPartition.keys()].sort((a, b) => a - b)).toEqual(usedPartitions);
  // Every request of every client of a partition (handshakes, polls, upgrades) went to one node.
  expect([...byPartition.entries()].filter(([, servers]) => servers.size !== 1)).toEqual([]);
  const nodeOfPartition = new Map([...byPartition.entries()].map(([partition, servers]) => [partition, [...servers][0] as string]));

  const readByNode = cluster.nodes.map((node, i) => {
    const expected = usedPartitions.filter((partition) => nodeOfPartition.get(partition) === node.name);
    const metrics = read[i] as Awaited<ReturnType<typeof metricsOf>>;
    expect({ node: node.name, partitionsRead: metrics.partitionsRead, entriesRead: metrics.entriesReadPartitions }).toEqual({
      node: node.name,
      partitionsRead: expected.length,
      entriesRead: expected,
    });
    // A strict subset of the partitions.
    expect(metrics.partitionsRead).toBeLessThan(PARTITIONS);
    return metrics.entriesReadPartitions;
  });
  // Disjoint: each partition is read by exactly one node, and together they read every partition.
  expect(readByNode.flat().sort((a, b) => a - b)).toEqual(usedPartitions);
  expect(readByNode.filter((partitions) => partitions.length > 0).length).toBeGreaterThan(1);
}, 150_000);

test('the partition parameter routes only: a token for one org with another org as its affinity sees only its own org', async () => {
  const orgA = ORGS[0] as string;
  const orgB = ORGS.find((org) => partitionOfOrg(org, PARTITIONS) !== partitionOfOrg(orgA, PARTITIONS)) as string;
  const partitionB = partitionOfOrg(orgB, PARTITIONS);
  const before = await linesOfPartition(partitionB);
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
  await waitUntil(async () => (await linesOfPartition(partitionB)) >= before + 2, {
    what: "the two clients' handshakes in the access log",
    timeoutMs: 10_000,
  });
  // Both were routed by B's partition: the mixed client's socket sat on B's node and still saw nothing of B.
  expect((await serversByPartition()).get(partitionB)?.size).toBe(1);
}, 60_000);
