import type { Page } from 'playwright-core';
import type { HistoryPage, PresenceChange, PresenceMember } from '@roomwire/shared';
import type { ClientMetrics, PresenceList } from '@roomwire/client';
import { waitUntil } from './harness';
import { buildClientBundle, fixture, launchBrowser, startStaticServer } from './browser/browser-harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

// Presence and history in tabs that share one connection: a follower's requests travel to the leader
// tab, presence changes are relayed to every tab, and a follower that becomes leader carries on.

let cluster: TestCluster;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let site: Awaited<ReturnType<typeof startStaticServer>>;
let bundle: Awaited<ReturnType<typeof buildClientBundle>>;
const pages: Page[] = [];

beforeAll(async () => {
  bundle = await buildClientBundle();
  site = await startStaticServer({
    '/': { body: await fixture('tabs.html'), contentType: 'text/html; charset=utf-8' },
    '/roomwire-client.mjs': { body: bundle.code, contentType: 'text/javascript; charset=utf-8' },
  });
  cluster = await startCluster({ nodes: 2, node: { corsOrigins: [site.origin] } });
  browser = await launchBrowser();
}, 30_000);

afterAll(async () => {
  await Promise.all(pages.splice(0).map((page) => page.close()));
  await browser?.close();
  await cluster?.cleanup();
  await site?.close();
  await bundle?.cleanup();
});

function metricsOf(page: Page): Promise<ClientMetrics | null> {
  return page.evaluate(() => (window as unknown as { __realtimeMetrics(): ClientMetrics | null }).__realtimeMetrics());
}

interface TabWindow {
  __client: {
    presence(service: string): Promise<PresenceList>;
    history(service: string, options?: { limit?: number; before?: string }): Promise<HistoryPage>;
    onPresence(service: string, handler: (change: PresenceChange) => void): () => void;
  };
  __changes?: PresenceChange[];
}

/** A tab's presence list, taken apart in the page (evaluate returns JSON: the totals would not cross). */
interface PresenceSeen {
  isArray: boolean;
  members: PresenceMember[];
  users: number;
  connections: number;
  countsOnly: boolean;
}

const presenceIn = (page: Page): Promise<PresenceSeen> =>
  page.evaluate(async () => {
    const list = await (window as unknown as TabWindow).__client.presence('billing');
    return { isArray: Array.isArray(list), members: [...list], users: list.users, connections: list.connections, countsOnly: list.countsOnly };
  });
const changesIn = (page: Page): Promise<PresenceChange[]> => page.evaluate(() => (window as unknown as TabWindow).__changes ?? []);

test('a follower tab reads presence and history through the leader, hears presence changes, and goes on as leader', async () => {
  const org = uniqueOrg('tabs');
  for (const invoiceId of ['inv-1', 'inv-2', 'inv-3']) await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId, amountCents: 1 });
  const token = await signToken({ org, services: ['billing'], sub: 'tia' });
  const shareKey = uniqueOrg('key');
  const opened: Page[] = [];
  for (let i = 0; i < 2; i++) {
    const page = await browser.context.newPage();
    pages.push(page);
    await page.goto(`${site.origin}/?${new URLSearchParams({ url: (cluster.nodes[0] as TestCluster['nodes'][0]).url, token, services: 'billing', shareKey }).toString()}`);
    await page.evaluate(() => {
      const w = window as unknown as TabWindow;
      w.__changes = [];
      w.__client.onPresence('billing', (change) => w.__changes?.push(change));
    });
    opened.push(page);
  }
  await waitUntil(async () => (await Promise.all(opened.map(metricsOf))).filter((m) => m?.role === 'leader').length === 1, { what: 'one leader tab' });
  const roles = await Promise.all(opened.map(async (page) => (await metricsOf(page))?.role));
  const leader = opened[roles.indexOf('leader')] as Page;
  const follower = opened[roles.indexOf('follower')] as Page;

  // Two tabs, one shared connection: one connection of tia.
  await waitUntil(async () => (await presenceIn(follower)).members.length === 1, { what: 'tia present, seen from the follower' });
  expect(await presenceIn(follower)).toEqual({ isArray: true, users: 1, connections: 1, countsOnly: false, members: [{ userId: 'tia', connections: 1 }] });
  const page = await follower.evaluate(() => (window as unknown as TabWindow).__client.history('billing', { limit: 2 }));
  expect(page.events.map((e) => (e.data as { invoiceId: string }).invoiceId)).toEqual(['inv-3', 'inv-2']);

  const uma = cluster.client({ url: (cluster.nodes[1] as TestCluster['nodes'][0]).url, token: () => signToken({ org, services: ['billing'], sub: 'uma' }), services: ['billing'] });
  for (const tab of opened) {
    await waitUntil(async () => (await changesIn(tab)).some((c) => c.userId === 'uma' && c.type === 'join'), { what: "uma's join in every tab" });
  }
  uma.close();
  await waitUntil(async () => (await changesIn(follower)).some((c) => c.userId === 'uma' && c.type === 'leave'), { what: "uma's leave in the follower" });

  await leader.close();
  await waitUntil(async () => (await metricsOf(follower))?.role === 'leader', { what: 'the follower to take over' });
  await waitUntil(async () => (await presenceIn(follower)).members.length === 1, { what: 'tia present again through the new leader' });
  expect(await presenceIn(follower)).toEqual({ isArray: true, users: 1, connections: 1, countsOnly: false, members: [{ userId: 'tia', connections: 1 }] });
});
