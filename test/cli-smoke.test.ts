import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { isPlainFrame, type ClientToServerEvents, type DeliveryFrame, type PlainFrame, type ServerToClientEvents } from '@roomwire/shared';
import { io, type Socket } from 'socket.io-client';
import { NODE_START_TIMEOUT_MS, SERVER_CLI, freePort, spawnNode, waitUntil, type ChildNodeHandle } from './harness';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** What the CLI logs on stdout in development. */
interface DevCredentials {
  devToken: string;
  publishApiKey: string;
  url: string;
}

/** Guard of a test or hook that starts the CLI: tsx compiles the server as it loads, slow on a starved machine. */
const CLI_START_TIMEOUT_MS = NODE_START_TIMEOUT_MS + 30_000;

/** Empty values count as unset for the CLI, which shields these runs from the test runner's environment. */
const UNSET = { REDIS_URL: '', JWT_SECRET: '', JWKS_URL: '', PUBLISH_API_KEY: '', NODE_ID: '', HOST: '' };

/** Runs the CLI until it exits on its own (it never becomes ready in these cases). */
async function runCli(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=roomwire-source', '--import', 'tsx', SERVER_CLI], {
    env: { ...process.env, ...UNSET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

function findCredentials(output: string): DevCredentials | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as Partial<DevCredentials> & { msg?: string };
    if (entry.msg === 'development credentials') return entry as DevCredentials;
  }
  return undefined;
}

function connect(url: string, token: string): Promise<ClientSocket> {
  const socket: ClientSocket = io(url, { auth: { token, v: 1 }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => reject(err));
  });
}

let node: ChildNodeHandle | undefined;
let baseUrl: string;
let credentials: DevCredentials;
const sockets: ClientSocket[] = [];

describe('npm start (development, no Redis)', () => {
  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    node = await spawnNode({
      env: { ...UNSET, PORT: String(port), NODE_ENV: 'development', LOG_LEVEL: 'info' },
      readyUrl: `${baseUrl}/healthz`,
    });
    const child = node;
    await waitUntil(
      () => {
        const found = findCredentials(child.output());
        if (found !== undefined) credentials = found;
        return found !== undefined;
      },
      { what: "the 'development credentials' log line" },
    );
  }, CLI_START_TIMEOUT_MS);

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });

  afterAll(async () => {
    await node?.kill('SIGKILL');
  });

  test('is ready and logs development credentials', async () => {
    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', redis: 'none' });
    expect(credentials.url).toBe(baseUrl);
    expect(credentials.devToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(credentials.publishApiKey.length).toBeGreaterThanOrEqual(16);
    // The human banner goes to stderr with a ready-made curl example.
    expect(node?.output()).toContain(`curl -X POST ${baseUrl}/v1/publish -H 'Authorization: Bearer ${credentials.publishApiKey}'`);
  });

  test('an event published over HTTP reaches a subscribed socket.io client', async () => {
    const socket = await connect(baseUrl, credentials.devToken);
    const frames: DeliveryFrame[] = [];
    socket.on('rw:event', (frame) => frames.push(frame));

    const ack = await socket.timeout(5000).emitWithAck('rw:subscribe', { services: ['billing'] });
    expect(ack).toMatchObject({ ok: true, services: ['billing'] });

    const status = (await (await fetch(`${baseUrl}/v1/status`)).json()) as { connections: number; rooms: number; services: string[] };
    expect(status.connections).toBe(1);
    expect(status.rooms).toBeGreaterThanOrEqual(1);
    expect(status.services).toContain('billing');

    const data = { invoiceId: 'in_1', amountCents: 4200 };
    const res = await fetch(`${baseUrl}/v1/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${credentials.publishApiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ org: 'dev', service: 'billing', type: 'invoice.paid', data }),
    });
    expect(res.status).toBe(200);
    const published = (await res.json()) as { id: string; offset: string | null };
    expect(typeof published.id).toBe('string');
    expect(published).toHaveProperty('offset');

    const delivered = (): PlainFrame | undefined => frames.filter(isPlainFrame).find((f) => f.events.some((e) => e.id === published.id));
    await waitUntil(() => delivered() !== undefined, { what: `rw:event with id ${published.id}` });
    expect(delivered()?.events).toEqual([{ id: published.id, org: 'dev', service: 'billing', type: 'invoice.paid', ts: expect.any(Number), data }]);
  });

  test('serves the status page and the status JSON', async () => {
    const { nodeId } = (await (await fetch(`${baseUrl}/healthz`)).json()) as { nodeId: string };
    const page = await fetch(`${baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src [^;]*'nonce-[A-Za-z0-9+/=]+'/);
    expect(await page.text()).toContain(nodeId);

    await connect(baseUrl, credentials.devToken);
    let status: Record<string, unknown> = {};
    // The previous test's socket may still be closing on the server side.
    await waitUntil(
      async () => {
        status = (await (await fetch(`${baseUrl}/v1/status`)).json()) as Record<string, unknown>;
        return status.connections === 1;
      },
      { what: '/v1/status to count exactly this connection' },
    );
    expect(status).toMatchObject({ nodeId, connections: 1, services: ['billing', 'tickets', 'presence'] });
    expect(typeof status.uptimeS).toBe('number');
  });

  test('SIGTERM drains and exits 0', async () => {
    await node?.kill('SIGTERM');
    expect(await node?.exited).toBe(0);
  });
});

describe('the CLI refuses bad configuration', () => {
  test('production without secrets exits 1 naming JWT_SECRET and PUBLISH_API_KEY', async () => {
    const { code, stdout, stderr } = await runCli({ NODE_ENV: 'production', PORT: '0' });
    expect(code).toBe(1);
    expect(stderr).toContain('Invalid configuration');
    expect(stderr).toMatch(/^ {2}JWT_SECRET: /m);
    expect(stderr).toMatch(/^ {2}PUBLISH_API_KEY: /m);
    expect(stdout).toBe('');
  }, CLI_START_TIMEOUT_MS);

  test('PORT=abc exits 1 naming PORT', async () => {
    const { code, stderr } = await runCli({ NODE_ENV: 'development', PORT: 'abc' });
    expect(code).toBe(1);
    expect(stderr).toContain('PORT: expected an integer from 0 to 65535, got "abc"');
  }, CLI_START_TIMEOUT_MS);
});
