import type { Page } from 'playwright-core';
import type { RoomwireClient } from '@roomwire/client';
import { waitUntil } from './harness';
import { bundlePageScript, fixturePath, launchBrowser, startStaticServer } from './browser/browser-harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

let cluster: TestCluster;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let site: Awaited<ReturnType<typeof startStaticServer>>;
let page: Page;
const org = uniqueOrg('react-presence');

const HTML = '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><div id="root"></div><script type="module" src="/app.mjs"></script></body></html>';

beforeAll(async () => {
  site = await startStaticServer({
    '/': { body: HTML, contentType: 'text/html; charset=utf-8' },
    '/app.mjs': { body: await bundlePageScript(fixturePath('react-presence-app.ts')), contentType: 'text/javascript; charset=utf-8' },
  });
  cluster = await startCluster({ nodes: 2, node: { corsOrigins: [site.origin] } });
  for (const invoiceId of ['inv-1', 'inv-2', 'inv-3']) await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId, amountCents: 1 });
  browser = await launchBrowser();
  page = await browser.context.newPage();
  const token = await signToken({ org, services: ['billing'], sub: 'ann' });
  await page.goto(`${site.origin}/?${new URLSearchParams({ url: (cluster.nodes[0] as TestCluster['nodes'][0]).url, token }).toString()}`);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await cluster?.cleanup();
  await site?.close();
});

const text = async (selector: string): Promise<string> => (await page.textContent(selector)) ?? '';
/** What usePresence's list is besides its members, as the page renders it. */
const shape = async (): Promise<string> => (await page.getAttribute('#online', 'data-shape')) ?? '';

test('usePresence shows who is online across nodes and follows joins and leaves', async () => {
  await waitUntil(async () => (await text('#online')) === 'ann:1', { what: 'ann alone online' });
  expect(await shape()).toBe('array=true users=1 connections=1 countsOnly=false');
  const bob: RoomwireClient = cluster.client({ url: (cluster.nodes[1] as TestCluster['nodes'][0]).url, token: () => signToken({ org, services: ['billing'], sub: 'bob' }), services: ['billing'] });
  await waitUntil(async () => (await text('#online')) === 'ann:1,bob:1', { what: 'bob joining, through the other node' });
  expect(await shape()).toBe('array=true users=2 connections=2 countsOnly=false');
  bob.close();
  await waitUntil(async () => (await text('#online')) === 'ann:1', { what: 'bob leaving' });
  expect(await shape()).toBe('array=true users=1 connections=1 countsOnly=false');
});

test('useHistory shows the newest events first and pages back with loadMore', async () => {
  await waitUntil(async () => (await page.locator('#recent li').allTextContents()).join(',') === 'inv-3,inv-2', { what: 'the first page' });
  await page.evaluate(() => (window as unknown as { __loadMore(): void }).__loadMore());
  await waitUntil(async () => (await page.locator('#recent li').allTextContents()).join(',') === 'inv-3,inv-2,inv-1', { what: 'the second page' });
  await waitUntil(async () => (await page.getAttribute('#recent', 'data-more')) === 'false', { what: 'the end of history' });
});
