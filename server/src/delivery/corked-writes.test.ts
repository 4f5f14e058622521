import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { waitUntil } from '../../../test/harness';
import { CorkedWrites } from './corked-writes';

let server: Server;
let client: Socket;
let received = '';

beforeAll(async () => {
  server = createServer((peer) => peer.on('data', (chunk: Buffer) => (received += chunk.toString())));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  client = connect(address.port, '127.0.0.1');
  await once(client, 'connect');
});

afterAll(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('writes of one run are held on a corked socket and all leave, in order, once the run ends', async () => {
  const corked = new CorkedWrites();
  corked.cork(client);
  client.write('a');
  client.write('b');
  client.write('c');
  // Held until the end of this synchronous run: nothing was handed to the kernel yet.
  expect(client.writableCorked).toBe(1);
  expect(client.writableLength).toBe(3);
  expect(corked.size).toBe(1);
  await Promise.resolve();
  expect(client.writableCorked).toBe(0);
  expect(corked.size).toBe(0);
  await waitUntil(() => received === 'abc', { what: 'the three corked writes to arrive in order' });
});

test('release uncorks at once, and a later run corks again', async () => {
  const corked = new CorkedWrites();
  corked.cork(client);
  client.write('d');
  corked.release();
  expect(client.writableCorked).toBe(0);
  // The microtask scheduled by the first cork finds nothing left to release.
  await Promise.resolve();
  corked.cork(client);
  client.write('e');
  expect(client.writableCorked).toBe(1);
  await Promise.resolve();
  expect(client.writableCorked).toBe(0);
  await waitUntil(() => received === 'abcde', { what: 'every write to arrive in order' });
});
