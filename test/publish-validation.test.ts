import { RoomwireError, type EventEnvelope } from '@roomwire/shared';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
let url: string;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1, node: { maxPayloadBytes: 2048 } });
  url = (cluster.nodes[0] as TestCluster['nodes'][0]).url;
});

afterAll(async () => {
  await cluster?.cleanup();
});

async function post(body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { id?: string; offset?: string | null; duplicate?: boolean; error?: { code: string; message: string } } }> {
  const res = await fetch(`${url}/v1/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TEST_PUBLISH_KEY}`, 'Content-Type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as never };
}

describe('publisher library', () => {
  test('an unknown type is refused with a typed error and nothing is sent', async () => {
    const emitter = cluster.publisher.to('acme', 'billing') as unknown as { emit(type: string, data: unknown): Promise<unknown> };
    await expect(emitter.emit('invoice.voided', { invoiceId: 'x' })).rejects.toMatchObject({ name: 'RoomwireError', code: 'RW_ERR_UNKNOWN_EVENT' });
  });

  test('a bad payload is refused with the failing field named', async () => {
    const error = await cluster.publisher
      .to('acme', 'billing')
      .emit('invoice.paid', { invoiceId: 'in_1', amountCents: -5 })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RoomwireError);
    expect((error as RoomwireError).code).toBe('RW_ERR_INVALID_PAYLOAD');
    expect((error as RoomwireError).message).toContain('amountCents');
  });

  test('a payload string with a lone surrogate is refused: it would reach subscribers as U+FFFD', async () => {
    await expect(cluster.publisher.to('acme', 'billing').emit('invoice.paid', { invoiceId: 'in_\ud800', amountCents: 1 })).rejects.toMatchObject({
      code: 'RW_ERR_INVALID_PAYLOAD',
      message: expect.stringContaining('lone surrogate'),
    });
    await expect(cluster.publisher.to('acme', 'billing').emit('invoice.paid', { invoiceId: 'in_\ud83d\ude00', amountCents: 1 })).resolves.toMatchObject({ duplicate: false });
  });

  test('a hostile org name is refused', async () => {
    await expect(cluster.publisher.to('acme:svc:billing', 'billing').emit('invoice.paid', { invoiceId: 'a', amountCents: 1 })).rejects.toMatchObject({
      code: 'RW_ERR_INVALID_REQUEST',
    });
  });

  test('an event over the size limit is refused', async () => {
    const publisher = cluster.publisher;
    const big = 'x'.repeat(70_000);
    await expect(publisher.to('acme', 'billing').emit('invoice.paid', { invoiceId: big, amountCents: 1 })).rejects.toMatchObject({
      code: 'RW_ERR_PAYLOAD_TOO_LARGE',
    });
  });

  test('refused publishes deliver nothing, and a retry with the same idempotency key is delivered once', async () => {
    const org = uniqueOrg();
    const client = cluster.client({ token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
    const received: EventEnvelope[] = [];
    client.onEvent((e) => received.push(e));
    await waitUntil(() => client.state === 'connected', { what: 'client connected' });

    const bad = cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'bad', amountCents: 1.5 });
    await expect(bad).rejects.toMatchObject({ code: 'RW_ERR_INVALID_PAYLOAD' });
    const first = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'once', amountCents: 1 }, { idempotencyKey: 'k-1' });
    const retry = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'once', amountCents: 1 }, { idempotencyKey: 'k-1' });
    expect(first.duplicate).toBe(false);
    expect(retry).toEqual({ id: first.id, offset: first.offset, duplicate: true });
    const httpRetry = await post(JSON.stringify({ org, service: 'billing', type: 'invoice.paid', data: { invoiceId: 'once', amountCents: 1 }, idempotencyKey: 'k-1' }));
    expect(httpRetry.json).toEqual({ id: first.id, offset: first.offset, duplicate: true });
    const marker = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'marker', amountCents: 2 });
    await waitUntil(() => received.some((e) => e.id === marker.id), { what: 'the marker event' });
    expect(received.map((e) => e.id)).toEqual([first.id, marker.id]);
  });
});

describe('HTTP publish API', () => {
  const valid = { org: 'acme', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 100 } };

  test('a valid publish answers 200 with the id and the offset', async () => {
    const res = await post(JSON.stringify(valid));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: expect.any(String), offset: expect.stringMatching(/^\d+-\d+$/), duplicate: false });
  });

  test.each([
    ['a missing key', { Authorization: '' }, 401, 'RW_ERR_UNAUTHORIZED'],
    ['a wrong key', { Authorization: 'Bearer nope-nope-nope-nope' }, 401, 'RW_ERR_UNAUTHORIZED'],
    ['a wrong content type', { 'Content-Type': 'text/plain' }, 415, 'RW_ERR_UNSUPPORTED_MEDIA_TYPE'],
  ])('%s is refused', async (_name, headers, status, code) => {
    const res = await post(JSON.stringify(valid), headers);
    expect(res.status).toBe(status);
    expect(res.json.error?.code).toBe(code);
  });

  test.each([
    ['malformed JSON', '{"org": ', 400, 'RW_ERR_INVALID_REQUEST'],
    ['a JSON array', '[]', 400, 'RW_ERR_INVALID_REQUEST'],
    ['an unknown type', JSON.stringify({ ...valid, type: 'invoice.voided' }), 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['an unknown service', JSON.stringify({ ...valid, service: 'payroll' }), 400, 'RW_ERR_UNKNOWN_EVENT'],
    ['an invalid payload', JSON.stringify({ ...valid, data: { invoiceId: 'x', amountCents: 'ten' } }), 400, 'RW_ERR_INVALID_PAYLOAD'],
    ['a hostile org name', JSON.stringify({ ...valid, org: '../admin' }), 400, 'RW_ERR_INVALID_REQUEST'],
    ['a body over the limit', JSON.stringify({ ...valid, data: { invoiceId: 'x'.repeat(5000), amountCents: 1 } }), 413, 'RW_ERR_PAYLOAD_TOO_LARGE'],
  ])('%s is refused', async (_name, body, status, code) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.json.error).toEqual({ code, message: expect.any(String) });
  });

  test('other methods and routes answer with JSON errors', async () => {
    const get = await fetch(`${url}/v1/publish`);
    expect(get.status).toBe(405);
    const missing = await fetch(`${url}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'RW_ERR_NOT_FOUND', message: expect.any(String) } });
  });
});
