import type { Page } from 'playwright-core';
import { serviceRoom } from '@roomwire/shared';
import type { ClientMetrics } from '@roomwire/client';
import { startTcpProxy, waitUntil, type TcpProxy } from './harness';
import { buildClientBundle, fixture, launchBrowser, startStaticServer } from './browser/browser-harness';
import { startCluster, type TestCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

// Issue 12, item 8, in tabs that share one connection: a follower's requests travel to the leader tab
// and settle by the same rules as a standalone client's (client/README.md, Requests).

let cluster: TestCluster;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let site: Awaited<ReturnType<typeof startStaticServer>>;
let bundle: Awaited<ReturnType<typeof buildClientBundle>>;
let proxy: TcpProxy;
const pages: Page[] = [];

beforeAll(async () => {
  bundle = await buildClientBundle();
  site = await startStaticServer({
    '/': { body: await fixture('tabs.html'), contentType: 'text/html; charset=utf-8' },
    '/roomwire-client.mjs': { body: bundle.code, contentType: 'text/javascript; charset=utf-8' },
  });
  cluster = await startCluster({ nodes: 1, node: { corsOrigins: [site.origin] } });
  proxy = await startTcpProxy(Number(new URL(node().url).port));
  browser = await launchBrowser();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await cluster?.cleanup();
  await site?.close();
  await bundle?.cleanup();
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((page) => page.close()));
});

function node(): TestCluster['nodes'][0] {
  return cluster.nodes[0] as TestCluster['nodes'][0];
}

function members(org: string, service: string): number {
  return node().io.of('/').adapter.rooms.get(serviceRoom(org, service))?.size ?? 0;
}

function metricsOf(page: Page): Promise<ClientMetrics | null> {
  return page.evaluate(() => (window as unknown as { __realtimeMetrics(): ClientMetrics | null }).__realtimeMetrics());
}

/** Opens `count` tabs sharing one connection (a key of their own); returns the leader and the followers. */
async function tabs(count: number, params: Record<string, string>): Promise<{ leader: Page; followers: Page[] }> {
  const shareKey = uniqueOrg('key');
  const opened: Page[] = [];
  for (let i = 0; i < count; i++) {
    const page = await browser.context.newPage();
    pages.push(page);
    await page.goto(`${site.origin}/?${new URLSearchParams({ services: 'billing', shareKey, ...params }).toString()}`);
    opened.push(page);
  }
  await waitUntil(async () => (await Promise.all(opened.map(metricsOf))).filter((m) => m?.role === 'leader').length === 1, {
    what: 'one leader tab',
  });
  const roles = await Promise.all(opened.map(async (page) => (await metricsOf(page))?.role));
  return { leader: opened[roles.indexOf('leader')] as Page, followers: opened.filter((_, i) => roles[i] === 'follower') };
}

/** Calls `subscribe` or `unsubscribe` in a tab without waiting; {@link outcome} reads what it came to. */
function ask(page: Page, id: string, kind: 'subscribe' | 'unsubscribe', service: string): Promise<void> {
  return page.evaluate(([i, k, s]) => (window as unknown as { __ask(id: string, kind: string, service: string): void }).__ask(i, k, s), [id, kind, service] as const);
}

/** 'resolved', the rejection's code, or undefined while the promise is pending. */
function outcome(page: Page, id: string): Promise<string | undefined> {
  return page.evaluate((i) => (window as unknown as { __outcomes: Record<string, string> }).__outcomes[i], id);
}

async function settled(page: Page, id: string, what: string): Promise<string> {
  await waitUntil(async () => (await outcome(page, id)) !== undefined, { what: `${what} to settle`, timeoutMs: 10_000 });
  return (await outcome(page, id)) as string;
}

test('a static token refused for good: subscribe rejects with the refusal in the leader and in a follower, and again later', async () => {
  const { leader, followers } = await tabs(2, { url: node().url, token: 'not-a-token', static: '1' });
  const follower = followers[0] as Page;
  await waitUntil(async () => (await Promise.all([leader, follower].map(metricsOf))).every((m) => m?.connectionState === 'disconnected'), {
    what: 'both tabs to report disconnected',
  });
  await ask(leader, 'l1', 'subscribe', 'tickets');
  await ask(follower, 'f1', 'subscribe', 'tickets');
  expect(await settled(leader, 'l1', "the leader's subscribe")).toBe('RW_ERR_UNAUTHORIZED');
  expect(await settled(follower, 'f1', "the follower's subscribe")).toBe('RW_ERR_UNAUTHORIZED');
  await ask(follower, 'f2', 'subscribe', 'billing');
  expect(await settled(follower, 'f2', "the follower's second subscribe")).toBe('RW_ERR_UNAUTHORIZED');
});

test("a follower's subscribe made offline resolves once the leader's connection holds the service; close() rejects a waiting one", async () => {
  const org = uniqueOrg('tab-requests');
  const token = await signToken({ org, services: ['billing', 'tickets'] });
  const { leader, followers } = await tabs(2, { url: proxy.url, token });
  const follower = followers[0] as Page;
  await waitUntil(async () => (await Promise.all([leader, follower].map(metricsOf))).every((m) => m?.connectionState === 'connected'), {
    what: 'both tabs to report connected',
  });

  proxy.cut();
  await waitUntil(async () => ((await metricsOf(follower))?.reconnectAttempts ?? 0) >= 2, { what: 'the leader to retry twice while cut' });
  await ask(follower, 'offline', 'subscribe', 'tickets');
  await waitUntil(async () => ((await metricsOf(follower))?.reconnectAttempts ?? 0) >= 3, { what: 'one more attempt after the subscribe' });
  expect(await outcome(follower, 'offline')).toBeUndefined();
  expect(members(org, 'tickets')).toBe(0);
  proxy.restore();
  expect(await settled(follower, 'offline', "the follower's subscribe")).toBe('resolved');
  expect(members(org, 'tickets')).toBe(1);

  await ask(follower, 'leave', 'unsubscribe', 'tickets');
  expect(await settled(follower, 'leave', "the follower's unsubscribe")).toBe('resolved');
  expect(members(org, 'tickets')).toBe(0);

  proxy.cut();
  await waitUntil(async () => (await metricsOf(follower))?.connectionState === 'reconnecting', { what: 'the tabs to notice the cut' });
  await ask(follower, 'closing', 'subscribe', 'tickets');
  await follower.evaluate(() => (window as unknown as { __client: { close(): void } }).__client.close());
  expect(await settled(follower, 'closing', 'the subscribe of the closed tab')).toBe('RW_ERR_CLOSED');
  proxy.restore();
});

test("a follower tab's publish travels through the leader's connection: accepted with the token's sub, refusals come back as codes", async () => {
  const org = uniqueOrg('tab-publish');
  const token = await signToken({ org, services: ['billing'], sub: 'tab-user', publish: ['presence'] });
  const { leader, followers } = await tabs(2, { url: node().url, token });
  const follower = followers[0] as Page;
  await waitUntil(async () => (await Promise.all([leader, follower].map(metricsOf))).every((m) => m?.connectionState === 'connected'), {
    what: 'both tabs to report connected',
  });
  const watcher = cluster.client({ token: () => signToken({ org, services: ['presence'] }), services: ['presence'] });
  const typing: { sub?: string; userId: string }[] = [];
  watcher.on('presence', 'user.typing', (data, envelope) => typing.push({ ...(envelope.sub === undefined ? {} : { sub: envelope.sub }), userId: data.userId }));
  await waitUntil(() => watcher.state === 'connected', { what: 'the watcher connected' });

  const publish = (page: Page, id: string, service: string, type: string, data: unknown): Promise<void> =>
    page.evaluate(([i, s, t, d]) => (window as unknown as { __publish(id: string, s: string, t: string, d: unknown): void }).__publish(i, s, t, d), [id, service, type, data] as const);
  // Volatile: sent again until one reaches the watcher (a volatile packet may be dropped on a busy transport).
  let n = 0;
  await waitUntil(
    async () => {
      n += 1;
      await publish(follower, `typing-${n}`, 'presence', 'user.typing', { userId: 'from-follower' });
      expect(await settled(follower, `typing-${n}`, "the follower's publish")).toBe('sent null');
      return typing.length > 0;
    },
    { what: "the follower's typing event at the watcher", intervalMs: 300 },
  );
  expect(typing[0]).toEqual({ sub: 'tab-user', userId: 'from-follower' });
  await publish(follower, 'forbidden', 'billing', 'invoice.paid', { invoiceId: 'in_1', amountCents: 1 });
  expect(await settled(follower, 'forbidden', "the follower's forbidden publish")).toBe('RW_ERR_FORBIDDEN');
  await publish(follower, 'invalid', 'presence', 'user.typing', { userId: '' });
  expect(await settled(follower, 'invalid', "the follower's invalid publish")).toBe('RW_ERR_INVALID_PAYLOAD');
  watcher.close();
});
