import { io as ioClient, type Socket } from 'socket.io-client';
import { createNode, type RoomwireNode } from '@roomwire/server';
import { deferred } from './harness';
import { testNodeOptions } from './support/cluster';
import { rawBody, rawStatus, sendRaw, sendRequest } from './support/hostile-http';
import { signToken, uniqueOrg } from './support/tokens';

const ALLOWED = 'https://app.example.com';
const FOREIGN = 'https://evil.example';
let listed: RoomwireNode;
let unlisted: RoomwireNode;
const sockets: Socket[] = [];

beforeAll(async () => {
  listed = await createNode(testNodeOptions({ corsOrigins: [ALLOWED] }));
  unlisted = await createNode(testNodeOptions());
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.allSettled([listed?.close(), unlisted?.close()]);
});

/** A long-polling handshake, as a browser page at `origin` sends it. */
function pollingHandshake(node: RoomwireNode, origin: string | undefined) {
  return sendRequest(node.url, { method: 'GET', path: '/socket.io/?EIO=4&transport=polling', headers: origin === undefined ? {} : { Origin: origin } });
}

/** A WebSocket handshake (upgrade), as a browser page at `origin` sends it. */
function websocketHandshake(node: RoomwireNode, origin: string): Promise<{ text: string }> {
  const { host } = new URL(node.url);
  return sendRaw(
    node.url,
    `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: ${origin}\r\n\r\n`,
    2000,
  );
}

/** A Roomwire handshake over WebSocket with `Origin: origin`, to the end: Socket.IO CONNECT or its refusal. */
async function connectOver(node: RoomwireNode, origin: string): Promise<'connected' | string> {
  const socket = ioClient(node.url, {
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { Origin: origin },
    auth: { token: await signToken({ org: uniqueOrg('cors'), services: ['billing'] }), v: 1 },
  });
  sockets.push(socket);
  const ended = deferred<'connected' | string>();
  socket.once('connect', () => ended.resolve('connected'));
  socket.once('connect_error', (err: Error & { description?: unknown }) => ended.resolve(`${err.message} ${String(err.description ?? '')}`));
  try {
    return await ended.promise;
  } finally {
    socket.close();
  }
}

describe('a foreign Origin', () => {
  test('is refused over long-polling: 403, naming RW_ERR_FORBIDDEN and the origin', async () => {
    const res = await pollingHandshake(listed, FOREIGN);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toEqual({ code: 4, message: expect.stringMatching(/^RW_ERR_FORBIDDEN: origin "https:\/\/evil\.example" is not allowed/) });
  });

  test('is refused over a WebSocket upgrade: an HTTP refusal naming RW_ERR_FORBIDDEN, never 101', async () => {
    const res = await websocketHandshake(listed, FOREIGN);
    expect(rawStatus(res.text)).toBe(400);
    expect(rawBody(res.text)).toMatch(/^RW_ERR_FORBIDDEN: origin "https:\/\/evil\.example" is not allowed/);
  });

  test('never completes a Socket.IO CONNECT over WebSocket', async () => {
    expect(await connectOver(listed, FOREIGN)).toMatch(/websocket error/);
    expect(listed.stats().connections).toBe(0);
  });

  test.each([['null'], ['https://app.example.com.evil.example'], ['http://app.example.com'], ['not a url']])('%p is foreign too', async (origin) => {
    expect((await pollingHandshake(listed, origin)).status).toBe(403);
    expect(rawStatus((await websocketHandshake(listed, origin)).text)).toBe(400);
  });
});

describe('an allowed Origin', () => {
  test('opens a long-polling session, with the CORS headers a page needs to read it', async () => {
    const res = await pollingHandshake(listed, ALLOWED);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^0\{"sid":/);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  test('connects over WebSocket', async () => {
    expect(await connectOver(listed, ALLOWED)).toBe('connected');
  });

  test("the node's own origin connects over both transports without being listed", async () => {
    expect((await pollingHandshake(listed, listed.url)).status).toBe(200);
    expect(await connectOver(listed, listed.url)).toBe('connected');
  });

  test('a client that sends no Origin (not a browser) connects', async () => {
    expect((await pollingHandshake(listed, undefined)).status).toBe(200);
  });
});

describe('without CORS_ORIGINS', () => {
  test('only the node\'s own origin may connect, over either transport', async () => {
    expect((await pollingHandshake(unlisted, ALLOWED)).status).toBe(403);
    expect(rawStatus((await websocketHandshake(unlisted, ALLOWED)).text)).toBe(400);
    expect(await connectOver(unlisted, ALLOWED)).toMatch(/websocket error/);
    expect((await pollingHandshake(unlisted, unlisted.url)).status).toBe(200);
    expect(await connectOver(unlisted, unlisted.url)).toBe('connected');
  });
});
