import { io as ioClient } from 'socket.io-client';
import { createNode, type RoomwireNode } from '@roomwire/server';
import { DEFAULT_WAIT_MS, waitFor } from './harness';
import { testNodeOptions } from './support/cluster';

let node: RoomwireNode;

beforeAll(async () => {
  node = await createNode(testNodeOptions({ adminUi: { username: 'ops', password: 'correct horse battery' } }));
});

afterAll(async () => {
  await node?.close();
});

test('the admin UI is served from the package, without links to the internet', async () => {
  const page = await fetch(`${node.url}/admin/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<div id="app">');
  expect(html).not.toMatch(/href="https?:/);
  const script = /src="?(js\/app\.[^" >]+\.js)/.exec(html)?.[1];
  expect(script).toBeDefined();
  const js = await fetch(`${node.url}/admin/${script}`);
  expect(js.status).toBe(200);
  expect(js.headers.get('content-type')).toContain('javascript');
  // Each body is read or cancelled: an unread one holds its connection until it is garbage-collected.
  await js.body?.cancel();
  const traversal = await fetch(`${node.url}/admin/..%2F..%2Fpackage.json`);
  await traversal.body?.cancel();
  expect(traversal.status).toBe(404);
});

test('the admin namespace requires its credentials', async () => {
  const refused = ioClient(`${node.url}/admin`, { transports: ['websocket'], reconnection: false, auth: { username: 'ops', password: 'wrong password!!' } });
  await waitFor(refused, 'connect_error', DEFAULT_WAIT_MS, 'refusal of wrong credentials');
  refused.close();
  const admitted = ioClient(`${node.url}/admin`, { transports: ['websocket'], reconnection: false, auth: { username: 'ops', password: 'correct horse battery' } });
  await waitFor(admitted, 'connect', DEFAULT_WAIT_MS, 'admission with the right credentials');
  admitted.close();
});

test('without configuration there is no admin UI', async () => {
  const plain = await createNode(testNodeOptions());
  try {
    expect((await fetch(`${plain.url}/admin/`)).status).toBe(404);
  } finally {
    await plain.close();
  }
});
