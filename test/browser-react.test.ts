import type { Page } from 'playwright-core';
import { serviceRoom } from '@roomwire/shared';
import { waitUntil } from './harness';
import { bundlePageScript, fixturePath, launchBrowser, startStaticServer } from './browser/browser-harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let site: Awaited<ReturnType<typeof startStaticServer>>;
let page: Page;
const org = uniqueOrg('react');

const HTML = '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><div id="root"></div><script type="module" src="/app.mjs"></script></body></html>';

beforeAll(async () => {
  site = await startStaticServer({
    '/': { body: HTML, contentType: 'text/html; charset=utf-8' },
    '/app.mjs': { body: await bundlePageScript(fixturePath('react-app.ts')), contentType: 'text/javascript; charset=utf-8' },
  });
  cluster = await startCluster({ nodes: 1, node: { corsOrigins: [site.origin] } });
  browser = await launchBrowser();
  page = await browser.context.newPage();
  const token = await signToken({ org, services: ['billing'] });
  await page.goto(`${site.origin}/?${new URLSearchParams({ url: (cluster.nodes[0] as TestCluster['nodes'][0]).url, token }).toString()}`);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await cluster?.cleanup();
  await site?.close();
});

/** Sockets of the node in the billing room of the test org. */
function billingMembers(): number {
  return (cluster.nodes[0] as TestCluster['nodes'][0]).io.of('/').adapter.rooms.get(serviceRoom(org, 'billing'))?.size ?? 0;
}

function calls(): Promise<Record<string, string[]>> {
  return page.evaluate(() => (window as unknown as { __calls: Record<string, string[]> }).__calls);
}

async function publish(invoiceId: string): Promise<string> {
  return (await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId, amountCents: 250 })).id;
}

test('useRealtimeEvent subscribes on mount and hands typed events to the handler', async () => {
  await waitUntil(() => billingMembers() === 1, { what: 'the hooks to subscribe billing' });
  await waitUntil(async () => (await page.textContent('#status'))?.startsWith('connected') === true, { what: 'useRealtimeStatus to say connected' });
  const id = await publish('inv-1');
  await waitUntil(async () => (await calls()).b?.includes(id) === true, { what: 'the event in component b' });
  expect(await calls()).toEqual({ a: [id], b: [id] });
  expect(await page.locator('#paid-a li').allTextContents()).toEqual(['inv-1:250']);
  await waitUntil(async () => (await page.textContent('#status')) === 'connected 1', { what: 'useRealtimeStatus to count the event' });
});

test('unmounting removes the handler, and the last hook to go unsubscribes the service', async () => {
  await page.evaluate(() => (window as unknown as { __mount(names: string[]): void }).__mount(['b']));
  const id = await publish('inv-2');
  await waitUntil(async () => (await calls()).b?.includes(id) === true, { what: 'the event in the mounted component' });
  expect((await calls()).a).toHaveLength(1);
  expect(billingMembers()).toBe(1);

  await page.evaluate(() => (window as unknown as { __mount(names: string[]): void }).__mount([]));
  await waitUntil(() => billingMembers() === 0, { what: 'billing to be unsubscribed on the server' });
  expect(await page.evaluate(() => (window as unknown as { __client: { services: string[] } }).__client.services)).toEqual([]);
  expect(await page.locator('#paid-b').count()).toBe(0);
});
