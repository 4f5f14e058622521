import type { BatchItemResult, BatchPublishResponse, EventEnvelope } from '@roomwire/shared';
import type { RoomwireClient } from '@roomwire/client';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2 });
});

afterAll(async () => {
  await cluster?.cleanup();
});

const node = (i: number): TestCluster['nodes'][0] => cluster.nodes[i] as TestCluster['nodes'][0];

async function postBatch(body: unknown, init: { key?: string; contentType?: string; method?: string } = {}): Promise<{ status: number; json: Partial<BatchPublishResponse> & { error?: { code: string; message: string } } }> {
  const res = await fetch(`${node(0).url}/v1/publish/batch`, {
    method: init.method ?? 'POST',
    headers: { Authorization: `Bearer ${init.key ?? TEST_PUBLISH_KEY}`, 'Content-Type': init.contentType ?? 'application/json' },
    ...(init.method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as never };
}

/** A client of `org` on node 1 (the batch goes to node 0), subscribed to every example service. */
async function subscriber(org: string): Promise<{ client: RoomwireClient; got: EventEnvelope[] }> {
  const client = cluster.client({ url: node(1).url, token: () => signToken({ org, services: '*' }), services: ['billing', 'tickets', 'presence'] });
  const got: EventEnvelope[] = [];
  client.onEvent((envelope) => got.push(envelope));
  await waitUntil(() => client.state === 'connected', { what: 'the subscriber connected' });
  return { client, got };
}

const paid = (org: string, invoiceId: string, extra: object = {}) => ({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId, amountCents: 1 }, ...extra });

test('a mixed batch: each event validated on its own, results in order, the valid ones delivered in order on the other node', async () => {
  const org = uniqueOrg('batch');
  const { got } = await subscriber(org);
  const events = [
    paid(org, 'in_1'),
    { org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_bad', amountCents: -1 } },
    { org, service: 'billing', type: 'invoice.voided', data: {} },
    'not an event',
    { org: 'bad:org', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'x', amountCents: 1 } },
    { org, service: 'tickets', type: 'ticket.updated', data: { ticketId: 'T-1', status: 'open' } },
    { org, service: 'presence', type: 'user.typing', data: { userId: 'u1' } },
    paid(org, 'in_2'),
  ];
  const { status, json } = await postBatch({ events });
  expect(status).toBe(200);
  const results = json.results as BatchItemResult[];
  expect(results.map((r) => ('error' in r ? r.error.code : 'ok'))).toEqual([
    'ok',
    'RW_ERR_INVALID_PAYLOAD',
    'RW_ERR_UNKNOWN_EVENT',
    'RW_ERR_INVALID_REQUEST',
    'RW_ERR_INVALID_REQUEST',
    'ok',
    'ok',
    'ok',
  ]);
  expect(results[1]).toMatchObject({ error: { message: expect.stringContaining('amountCents') } });
  expect(results[0]).toMatchObject({ offset: expect.stringMatching(/^\d+-\d+$/), duplicate: false });
  expect(results[6]).toMatchObject({ offset: null, duplicate: false });

  const okIds = results.flatMap((r) => ('id' in r ? [r.id] : []));
  await waitUntil(() => got.filter((e) => e.service !== 'presence').length === 3, { what: 'the durable events of the batch on node 1' });
  const durable = got.filter((e) => e.service !== 'presence');
  expect(durable.map((e) => e.id)).toEqual([okIds[0], okIds[1], okIds[3]]);
  expect(durable.map((e) => (e.data as { invoiceId?: string; ticketId?: string }).invoiceId ?? (e.data as { ticketId: string }).ticketId)).toEqual(['in_1', 'T-1', 'in_2']);
  expect(got.every((e) => e.sub === undefined)).toBe(true);
});

test('a batch of more than 100 events, or none, or not a list, is refused whole: nothing is published', async () => {
  const org = uniqueOrg('batch');
  const { got } = await subscriber(org);
  const tooMany = Array.from({ length: 101 }, (_, i) => paid(org, `in_${i}`));
  for (const body of [{ events: tooMany }, { events: [] }, { events: paid(org, 'x') }, [paid(org, 'x')], {}]) {
    const { status, json } = await postBatch(body);
    expect({ status, code: json.error?.code }).toEqual({ status: 400, code: 'RW_ERR_INVALID_REQUEST' });
  }
  expect((await postBatch({ events: [paid(org, 'k')] }, { key: 'wrong-key-0123456789' })).status).toBe(401);
  expect((await postBatch({ events: [paid(org, 'k')] }, { contentType: 'text/plain' })).status).toBe(415);
  expect((await postBatch('{"events": [', {})).json.error?.code).toBe('RW_ERR_INVALID_REQUEST');
  const get = await postBatch(undefined, { method: 'GET' });
  expect({ status: get.status, code: get.json.error?.code }).toEqual({ status: 405, code: 'RW_ERR_METHOD_NOT_ALLOWED' });

  // 100 is fine; then a marker shows nothing of the refused batches arrived before it.
  const hundred = await postBatch({ events: Array.from({ length: 100 }, (_, i) => paid(org, `ok_${i}`)) });
  expect(hundred.json.results?.every((r) => 'id' in r)).toBe(true);
  await waitUntil(() => got.length === 100, { what: 'the 100 events' });
  expect(got.map((e) => (e.data as { invoiceId: string }).invoiceId)).toEqual(Array.from({ length: 100 }, (_, i) => `ok_${i}`));
});

test('idempotency keys: a repeat, in the same batch or a later one, answers duplicate with the first id and is delivered once', async () => {
  const org = uniqueOrg('batch');
  const { got } = await subscriber(org);
  const first = await postBatch({ events: [paid(org, 'in_1', { idempotencyKey: 'k1' }), paid(org, 'in_1-again', { idempotencyKey: 'k1' }), paid(org, 'in_2', { idempotencyKey: 'k2' })] });
  const [a, b, c] = first.json.results as [BatchItemResult, BatchItemResult, BatchItemResult];
  expect(a).toMatchObject({ duplicate: false });
  expect(b).toMatchObject({ duplicate: true, id: 'id' in a ? a.id : 'missing', offset: 'id' in a ? a.offset : 'missing' });
  expect(c).toMatchObject({ duplicate: false });
  const again = await postBatch({ events: [paid(org, 'in_2', { idempotencyKey: 'k2' }), paid(org, 'in_3', { idempotencyKey: 'k3' })] });
  expect(again.json.results?.[0]).toEqual({ id: 'id' in c ? c.id : 'missing', offset: 'id' in c ? c.offset : 'missing', duplicate: true });
  // A repeat is still validated like any event.
  const invalid = await postBatch({ events: [{ ...paid(org, 'in_1', { idempotencyKey: 'k1' }), data: { invoiceId: '' } }] });
  expect(invalid.json.results?.[0]).toMatchObject({ error: { code: 'RW_ERR_INVALID_PAYLOAD' } });

  await waitUntil(() => got.some((e) => (e.data as { invoiceId: string }).invoiceId === 'in_3'), { what: 'the last new event' });
  expect(got.map((e) => (e.data as { invoiceId: string }).invoiceId)).toEqual(['in_1', 'in_2', 'in_3']);
});

test('publisher.emitMany: per-event results in order, the valid events delivered in order; more than 100 throws', async () => {
  const org = uniqueOrg('batch');
  const { got } = await subscriber(org);
  const results = await cluster.publisher.emitMany([
    { org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'lib_1', amountCents: 1 } },
    { org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'lib_bad', amountCents: 1.5 } },
    { org, service: 'tickets', type: 'ticket.updated', data: { ticketId: 'T-9', status: 'closed' }, idempotencyKey: 'T-9-closed' },
    { org, service: 'tickets', type: 'ticket.updated', data: { ticketId: 'T-9', status: 'closed' }, idempotencyKey: 'T-9-closed' },
  ]);
  expect(results.map((r) => ('error' in r ? r.error.code : r.duplicate ? 'duplicate' : 'ok'))).toEqual(['ok', 'RW_ERR_INVALID_PAYLOAD', 'ok', 'duplicate']);
  await waitUntil(() => got.length === 2, { what: 'the two new events' });
  expect(got.map((e) => e.type)).toEqual(['invoice.paid', 'ticket.updated']);

  const tooMany = Array.from({ length: 101 }, (_, i) => ({ org, service: 'billing' as const, type: 'invoice.paid' as const, data: { invoiceId: `x${i}`, amountCents: 1 } }));
  await expect(cluster.publisher.emitMany(tooMany)).rejects.toMatchObject({ code: 'RW_ERR_INVALID_REQUEST' });
});
