import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isPlainFrame, type ClientToServerEvents, type EventEnvelope, type ServerToClientEvents } from '@roomwire/shared';
import { io, type Socket } from 'socket.io-client';
import { SERVER_CLI, freePort, spawnNode, waitFor, waitUntil, type ChildNodeHandle } from './harness';

// ROOMWIRE_CATALOG: the CLI (as `npm start` and the container run it) loads the app's own catalog.

const FIXTURES = path.join(__dirname, 'fixtures', 'catalogs');
/** Empty values count as unset for the CLI, which shields these runs from the test runner's environment. */
const UNSET = { REDIS_URL: '', JWT_SECRET: '', JWKS_URL: '', PUBLISH_API_KEY: '', NODE_ID: '', HOST: '', ROOMWIRE_CATALOG: '', STATUS_PAGE: '' };

interface DevCredentials {
  devToken: string;
  publishApiKey: string;
}

function findCredentials(output: string): DevCredentials | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Partial<DevCredentials> & { msg?: string };
    if (entry.msg === 'development credentials') return entry as DevCredentials;
  }
  return undefined;
}

/** Runs the CLI until it exits on its own (it never becomes ready in these cases). */
async function runCli(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=roomwire-source', '--import', 'tsx', SERVER_CLI], {
    env: { ...process.env, ...UNSET, NODE_ENV: 'development', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

describe.each([
  ['an ES module', 'orders-catalog.mjs', 'orders', 'order.created', { orderId: 'o_1', totalCents: 1999 }],
  ['a CommonJS module', 'shipping-catalog.cjs', 'shipping', 'parcel.sent', { parcelId: 'p_1' }],
])('ROOMWIRE_CATALOG naming %s', (_kind, file, service, type, data) => {
  let node: ChildNodeHandle | undefined;
  let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
  let baseUrl: string;
  let credentials: DevCredentials;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // A path relative to the working directory (the repository root), as a user would write it.
    node = await spawnNode({
      env: { ...UNSET, PORT: String(port), NODE_ENV: 'development', ROOMWIRE_CATALOG: path.relative(path.join(__dirname, '..'), path.join(FIXTURES, file)) },
      readyUrl: `${baseUrl}/healthz`,
    });
    const child = node;
    await waitUntil(() => (credentials = findCredentials(child.output()) as DevCredentials) !== undefined, { what: "the 'development credentials' log line" });
  });

  afterAll(async () => {
    socket?.disconnect();
    await node?.kill('SIGKILL');
  });

  test('a client subscribes to the custom service and receives its custom event type published over HTTP', async () => {
    socket = io(baseUrl, { auth: { token: credentials.devToken, v: 1 }, transports: ['websocket'], reconnection: false, forceNew: true });
    const received: EventEnvelope[] = [];
    socket.on('rw:event', (frame) => {
      if (isPlainFrame(frame)) received.push(...frame.events);
    });
    await waitFor(socket, 'connect', 5000, 'the socket to connect');
    expect(await socket.timeout(5000).emitWithAck('rw:subscribe', { services: [service] })).toMatchObject({ ok: true, services: [service] });

    const res = await fetch(`${baseUrl}/v1/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${credentials.publishApiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ org: 'dev', service, type, data }),
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    await waitUntil(() => received.some((e) => e.id === id), { what: `the ${service}/${type} event` });
    expect(received.find((e) => e.id === id)).toMatchObject({ org: 'dev', service, type, data });
  });

  test('the example catalog is replaced: its events are unknown, a bad payload is refused, the status lists the custom services', async () => {
    const publish = (body: unknown): Promise<Response> =>
      fetch(`${baseUrl}/v1/publish`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${credentials.publishApiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const example = await publish({ org: 'dev', service: 'billing', type: 'invoice.paid', data: { invoiceId: 'in_1', amountCents: 1 } });
    expect(example.status).toBe(400);
    expect(await example.json()).toMatchObject({ error: { code: 'RW_ERR_UNKNOWN_EVENT' } });
    const invalid = await publish({ org: 'dev', service, type, data: { wrong: true } });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ error: { code: 'RW_ERR_INVALID_PAYLOAD' } });
    const status = (await (await fetch(`${baseUrl}/v1/status`)).json()) as { services: string[] };
    expect(status.services).toEqual([service]);
    expect(node?.output()).toContain(`Catalog      ${path.relative(path.join(__dirname, '..'), path.join(FIXTURES, file))}: ${service}`);
  });
});

describe('a ROOMWIRE_CATALOG that cannot be used stops start-up with a message naming the variable', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'roomwire-catalog-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function expectRefused(env: Record<string, string>, ...messages: (string | RegExp)[]): Promise<void> {
    const { code, stdout, stderr } = await runCli(env);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(/^Invalid configuration:\n {2}ROOMWIRE_CATALOG: /);
    for (const message of messages) expect(stderr).toMatch(message);
  }

  test('no such file', async () => {
    await expectRefused({ ROOMWIRE_CATALOG: path.join(dir, 'missing.mjs') }, `no file at ${path.join(dir, 'missing.mjs')}`);
  });

  test('not a module path', async () => {
    await expectRefused({ ROOMWIRE_CATALOG: path.join(dir, 'catalog.json') }, 'expected the path of a .js, .mjs or .cjs module');
  });

  test('a module that fails to load', async () => {
    const file = path.join(dir, 'broken.mjs');
    await writeFile(file, 'export const catalog = {;\n');
    await expectRefused({ ROOMWIRE_CATALOG: file }, `${file} failed to load`);
  });

  test('a module without a catalog export', async () => {
    const file = path.join(dir, 'nothing.mjs');
    await writeFile(file, 'export const events = {};\n');
    await expectRefused({ ROOMWIRE_CATALOG: file }, 'exports no catalog');
  });

  test('an export that is not a catalog, every problem listed', async () => {
    const file = path.join(dir, 'wrong.mjs');
    await writeFile(
      file,
      [
        'const schema = { safeParse: (data) => ({ success: true, data }) };',
        'export default {',
        "  'bad service': { ping: { schema, volatile: false } },",
        '  orders: { created: { schema: 42, volatile: false }, updated: { schema } },',
        '  empty: {},',
        '};',
      ].join('\n'),
    );
    await expectRefused(
      { ROOMWIRE_CATALOG: file },
      'does not export a valid catalog',
      /service "bad service": names are letters/,
      /orders\/created: expected event\(schema\) with a zod schema/,
      /orders\/updated: "volatile" must be a boolean/,
      /service "empty": expected an object of event types/,
    );
  });
});
