import { execFileSync } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { installEventFastPath } from './event-fast-path';

// A real Socket.IO server and client: the fast path must hand `rw:event` packets over in the order
// everything arrived, and leave every other packet (and every unusual case) to socket.io-client.

let http: HttpServer;
let server: Server;
let url: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  http = createServer();
  server = new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await server.close();
});

async function connectedPair(): Promise<{ client: Socket; peer: ServerSocket; seen: string[]; fast: () => number }> {
  const peerReady = new Promise<ServerSocket>((resolve) => server.once('connection', resolve));
  const client = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  sockets.push(client);
  const seen: string[] = [];
  let fastCalls = 0;
  const onEvent = (frame: unknown, offset: unknown): void => {
    seen.push(`event:${(frame as { n: number }).n}:${String(offset)}`);
  };
  client.on('rw:event', onEvent);
  expect(installEventFastPath(client, (frame, offset) => {
    fastCalls += 1;
    onEvent(frame, offset);
  })).toBe(true);
  client.on('rw:position', (n: number) => seen.push(`position:${n}`));
  const peer = await peerReady;
  await new Promise<void>((resolve) => (client.connected ? resolve() : client.once('connect', () => resolve())));
  return { client, peer, seen, fast: () => fastCalls };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

test('rw:event packets take the fast path, in order with every other packet around them', async () => {
  const { peer, seen, fast } = await connectedPair();
  const expected: string[] = [];
  for (let i = 0; i < 50; i++) {
    if (i % 3 === 0) {
      peer.emit('rw:position', i);
      expected.push(`position:${i}`);
    }
    peer.emit('rw:event', { n: i }, `1-${i}`);
    expected.push(`event:${i}:1-${i}`);
  }
  await until(() => seen.length === expected.length);
  expect(seen).toEqual(expected);
  expect(fast()).toBe(50);
});

test('an ack sent before an event is handled before it (both are deferred the same way)', async () => {
  const { client, peer, seen } = await connectedPair();
  peer.on('ask', (ack: (n: number) => void) => {
    ack(1);
    peer.emit('rw:event', { n: 2 }, '1-2');
  });
  client.emit('ask', () => seen.push('ack'));
  await until(() => seen.length === 2);
  expect(seen).toEqual(['ack', 'event:2:1-2']);
});

test('binary frames, onAny listeners and events with an ack id keep socket.io-client\'s own path', async () => {
  const { client, peer, seen, fast } = await connectedPair();
  const any: string[] = [];
  peer.emit('rw:event', { n: 1, z: Buffer.from([1, 2, 3]) }, '1-1');
  await until(() => seen.length === 1);
  client.onAny((name: string) => any.push(name));
  peer.emit('rw:event', { n: 2 }, '1-2');
  await until(() => seen.length === 2);
  client.offAny();
  peer.emit('rw:event', { n: 3 }, '1-3', () => undefined);
  await until(() => seen.length === 3);
  expect(seen).toEqual(['event:1:1-1', 'event:2:1-2', 'event:3:1-3']);
  expect(any).toEqual(['rw:event']);
  expect(fast()).toBe(0);
});

test('connection-state recovery keeps counting: the last offset is what socket.io-client itself would have kept', async () => {
  const fastPair = await connectedPair();
  const plain = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  sockets.push(plain);
  const plainSeen: unknown[] = [];
  plain.on('rw:event', (frame: unknown) => plainSeen.push(frame));
  await new Promise<void>((resolve) => plain.once('connect', () => resolve()));
  // A broadcast: with connection-state recovery on, Socket.IO appends its own offset as the last argument.
  server.emit('rw:event', { n: 7 }, '1-7');
  await until(() => fastPair.seen.length === 1 && plainSeen.length === 1);
  const offsetOf = (socket: Socket): unknown => (socket as unknown as { _lastOffset?: string })._lastOffset;
  expect(fastPair.fast()).toBe(1);
  expect(offsetOf(fastPair.client)).toEqual(expect.any(String));
  expect(offsetOf(fastPair.client)).toBe(offsetOf(plain));
});

test('in Node, rw:event messages are taken from the WebSocket itself: Engine.IO decodes only the other packets', async () => {
  const { client, peer, seen, fast } = await connectedPair();
  const transport = (client.io as unknown as { engine: { transport: { name: string; onData(data: unknown): void } } }).engine.transport;
  expect(transport.name).toBe('websocket');
  const decoded: string[] = [];
  const onData = transport.onData.bind(transport);
  transport.onData = (data: unknown): void => {
    decoded.push(String(data).slice(0, 8));
    onData(data);
  };
  const expected: string[] = [];
  for (let i = 0; i < 30; i++) {
    if (i % 10 === 0) {
      peer.emit('rw:position', i);
      expected.push(`position:${i}`);
    }
    peer.emit('rw:event', { n: i }, `1-${i}`);
    expected.push(`event:${i}:1-${i}`);
  }
  await until(() => seen.length === expected.length);
  expect(seen).toEqual(expected);
  expect(fast()).toBe(30);
  // Only the three notices went through Engine.IO's decoding (and socket.io-client's).
  expect(decoded).toEqual(['42["rw:p', '42["rw:p', '42["rw:p']);
});

test('a listener that throws is reported as uncaught (as in socket.io-client) and the events after it still arrive', () => {
  // Jest turns an uncaught error into a failed test (whatever the test registers), so this runs in a
  // child process of its own, with a server and a client, and reports what it saw.
  const script = `
    const { createServer } = require('node:http');
    const { Server } = require('socket.io');
    const { io } = require('socket.io-client');
    const { installEventFastPath } = require(${JSON.stringify(path.join(__dirname, 'event-fast-path.ts'))});
    const seen = [];
    const uncaught = [];
    process.on('uncaughtException', (err) => uncaught.push(String(err)));
    const http = createServer();
    const server = new Server(http);
    http.listen(0, '127.0.0.1', () => {
      server.once('connection', (peer) => {
        for (let n = 0; n < 3; n++) peer.emit('rw:event', { n }, '1-' + n);
      });
      const client = io('http://127.0.0.1:' + http.address().port, { transports: ['websocket'], reconnection: false });
      installEventFastPath(client, (frame) => {
        seen.push(frame.n);
        if (frame.n === 1) throw new Error('listener failed on 1');
        if (frame.n === 2) setImmediate(() => {
          console.log(JSON.stringify({ seen, uncaught, connected: client.connected }));
          process.exit(0);
        });
      });
    });
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(JSON.parse(out.trim().split('\n').pop() as string)).toEqual({
    seen: [0, 1, 2],
    uncaught: ['Error: listener failed on 1'],
    connected: true,
  });
});
