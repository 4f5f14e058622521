import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
let proxy: TcpProxy | undefined;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
});

afterAll(async () => {
  await proxy?.close();
  await cluster?.cleanup();
});

/** Reads one sample of the Prometheus text format, e.g. `roomwire_recoveries_total{result="recovered",source="memory"}`. */
async function sample(url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

test('/metrics counts what a known scenario did', async () => {
  const node = cluster.nodes[0] as TestCluster['nodes'][0];
  const org = uniqueOrg();
  proxy = await startTcpProxy(Number(new URL(node.url).port));
  const token = () => signToken({ org, services: '*' });
  const a = cluster.client({ url: proxy.url, token, services: ['billing'] });
  const b = cluster.client({ url: node.url, token, services: ['billing'] });
  const c = cluster.client({ url: node.url, token, services: ['tickets'] });
  const counts = { a: 0, b: 0, c: 0 };
  a.onEvent(() => (counts.a += 1));
  b.onEvent(() => (counts.b += 1));
  c.onEvent(() => (counts.c += 1));
  await waitUntil(() => [a, b, c].every((x) => x.state === 'connected'), { what: 'three clients connected' });
  expect(await sample(node.url, 'roomwire_connections')).toBe(3);
  expect(await sample(node.url, 'roomwire_subscriptions')).toBe(3);

  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${node.url}/v1/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_PUBLISH_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: `h${i}`, amountCents: i } }),
    });
    expect(res.status).toBe(200);
  }
  for (let i = 0; i < 5; i++) await node.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: `l${i}`, amountCents: i } });
  await expect(node.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'bad', amountCents: -1 } })).rejects.toThrow();
  await waitUntil(() => counts.a === 15 && counts.b === 15, { what: '15 events on both billing clients' });

  expect(await sample(node.url, 'roomwire_events_published_total')).toBe(15);
  expect(await sample(node.url, 'roomwire_publish_failures_total', { code: 'RW_ERR_INVALID_PAYLOAD' })).toBe(1);
  expect(await sample(node.url, 'roomwire_events_delivered_total')).toBe(30);
  expect(await sample(node.url, 'roomwire_batch_events_sum')).toBe(15);
  expect(await sample(node.url, 'roomwire_publish_duration_seconds_count')).toBe(15);
  expect(await sample(node.url, 'roomwire_delivery_latency_seconds_count')).toBeGreaterThanOrEqual(1);
  expect(counts.c).toBe(0);

  proxy.cut();
  await waitUntil(() => a.state === 'reconnecting', { what: 'the cut' });
  await node.publish({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'missed', amountCents: 1 } });
  proxy.restore();
  await waitUntil(() => counts.a === 16, { what: 'the missed event recovered' });
  expect(await sample(node.url, 'roomwire_recoveries_total', { result: 'recovered', source: 'memory' })).toBe(1);
  expect(await sample(node.url, 'roomwire_stream_read_lag_seconds')).toBeGreaterThanOrEqual(0);
  expect(await sample(node.url, 'process_resident_memory_bytes')).toBeGreaterThan(0);
});
