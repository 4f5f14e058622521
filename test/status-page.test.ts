import os from 'node:os';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { createClient, type RoomwireClient } from '@roomwire/client';
import { createNode, createPublisher, type Publisher, type RoomwireNode } from '@roomwire/server';
import { startRedis, waitUntil, type RedisServerHandle } from './harness';
import { launchBrowser } from './browser/browser-harness';
import { testNodeOptions } from './support/cluster';
import { signToken } from './support/tokens';

const ROOT = path.join(__dirname, '..');
// The README's screenshot is refreshed on request (UPDATE_SCREENSHOTS=1 npx jest test/status-page.test.ts);
// ordinary runs write theirs to the temp folder and leave the work tree clean.
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS ? path.join(ROOT, 'docs', 'status-page.png') : path.join(os.tmpdir(), 'roomwire-status-page.png');
/** The page polls every 2 s and nodes write their snapshot every 2 s: allow a few rounds of both. */
const LIVE_MS = 15_000;

let redis: RedisServerHandle;
const nodes: RoomwireNode[] = [];
let publisher: Publisher;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;
let token: string;
const clients: RoomwireClient[] = [];

beforeAll(async () => {
  // The page imports the bundle the node serves from client/dist/browser: build it, as `npm run build` does.
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'client', 'build-browser.js')]);
  token = await signToken({ org: 'dev', services: '*' });
  redis = await startRedis();
  for (const nodeId of ['rw-eu-1', 'rw-eu-2']) {
    nodes.push(await createNode({ ...testNodeOptions({ redisUrl: redis.url, nodeId }), statusPageToken: token }));
  }
  publisher = await createPublisher({ redisUrl: redis.url });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await browser?.close();
  await publisher?.close();
  await Promise.allSettled(nodes.map((node) => node.close()));
  await redis?.cleanup();
});

function node(i: number): RoomwireNode {
  return nodes[i] as RoomwireNode;
}

/** Opens `count` clients on a node, subscribed to billing, and waits until they are connected. */
async function connect(i: number, count: number): Promise<void> {
  const opened = Array.from({ length: count }, () => createClient({ url: node(i).url, token, services: ['billing'] }));
  clients.push(...opened);
  await waitUntil(() => opened.every((client) => client.state === 'connected'), { what: `${count} clients connected to ${node(i).nodeId}` });
}

/** What the page shows in one column of the nodes table, by node id. */
function column(name: string): Promise<Record<string, string>> {
  return page.evaluate((col) => {
    const shown: Record<string, string> = {};
    for (const row of Array.from(document.querySelectorAll<HTMLTableRowElement>('#nodes tr[data-node-id]'))) {
      shown[row.dataset.nodeId as string] = row.querySelector(`td[data-col="${col}"]`)?.textContent ?? '';
    }
    return shown;
  }, name);
}

/** Waits until the page shows these connection counts per node, in the total and in "This node". */
async function showsConnections(perNode: [number, number]): Promise<void> {
  const [first, second] = perNode;
  await page.waitForFunction(
    ([ids, counts, total]) => {
      const text = (selector: string): string | undefined => document.querySelector(selector)?.textContent ?? undefined;
      return (
        ids.every((id, i) => text(`#nodes tr[data-node-id="${id}"] td[data-col="connections"]`) === String(counts[i])) &&
        text('#total-connections') === String(total) &&
        text('#connections') === String(counts[0])
      );
    },
    [[node(0).nodeId, node(1).nodeId], [first, second], first + second] as const,
    { timeout: LIVE_MS, polling: 100 },
  );
}

/** Publishes a few events to org dev every `everyMs`, in bursts that vary, until `stop()`. */
function publishUntilStopped(everyMs: number): { count(): number; stop(): Promise<void> } {
  let running = true;
  let published = 0;
  const loop = (async () => {
    for (let round = 0; running; round++) {
      const burst = 1 + Math.round(2 + 2 * Math.sin(round / 12));
      for (let k = 0; k < burst; k++) {
        published += 1;
        if (published % 4 === 0) {
          await publisher.to('dev', 'tickets').emit('ticket.updated', { ticketId: `t_${published}`, status: 'pending' });
        } else {
          await publisher.to('dev', 'billing').emit('invoice.paid', { invoiceId: `in_${published}`, amountCents: 100 * (published % 97) });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    count: () => published,
    async stop() {
      running = false;
      await loop;
    },
  };
}

test('the status page shows the live cluster: nodes, connections, events, rates and charts', async () => {
  await connect(0, 3);
  await connect(1, 2);
  page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(`${node(0).url}/`);

  // The page's own client (dev token, every service) is one more connection on the node serving it.
  await page.waitForFunction(() => document.getElementById('feed-state')?.textContent?.startsWith('live'), undefined, { timeout: LIVE_MS });
  await showsConnections([3 + 1, 2]);
  expect(node(0).io.of('/').sockets.size).toBe(4);
  expect(Object.keys(await column('connections')).sort()).toEqual(['rw-eu-1', 'rw-eu-2']);
  await expect(page.locator('#total-nodes').textContent()).resolves.toBe('2');
  // Three billing clients plus the page's three services on rw-eu-1, two billing clients on rw-eu-2.
  await page.waitForFunction(() => document.getElementById('total-subscriptions')?.textContent === '8', undefined, { timeout: LIVE_MS });
  expect(await column('subscriptions')).toEqual({ 'rw-eu-1': '6', 'rw-eu-2': '2' });

  // Event data is shown as text, never parsed as HTML.
  const hostile = '<img src=x id=injected>';
  await publisher.to('dev', 'billing').emit('invoice.paid', { invoiceId: hostile, amountCents: 1 });
  await page.waitForFunction((text) => document.getElementById('events')?.textContent?.includes(text), hostile, { timeout: LIVE_MS });
  expect(await page.locator('#injected').count()).toBe(0);

  const publishing = publishUntilStopped(40);
  try {
    await page.waitForFunction(() => (document.getElementById('events')?.querySelectorAll('tr').length ?? 0) >= 10, undefined, { timeout: LIVE_MS });
    await expect(page.locator('#events tr').first().locator('td').nth(1).textContent()).resolves.toMatch(/^(billing|tickets)$/);

    await page.waitForFunction(
      () => {
        const rate = (text: string | null | undefined): number => Number.parseFloat((text ?? '').replace(/[^0-9.]/g, '')) || 0;
        const rows = Array.from(document.querySelectorAll('#nodes tr[data-node-id] td[data-col="rate"]'));
        return rate(document.getElementById('total-rate')?.textContent) > 0 && rows.length === 2 && rows.every((td) => rate(td.textContent) > 0);
      },
      undefined,
      { timeout: LIVE_MS, polling: 100 },
    );
    await page.waitForFunction(() => /ms$/.test(document.getElementById('total-p99')?.textContent ?? ''), undefined, { timeout: LIVE_MS });
    expect(Object.values(await column('p99')).every((text) => /^[0-9.,]+ ms$/.test(text))).toBe(true);

    // Connections added later show up too.
    await connect(1, 2);
    await showsConnections([4, 4]);

    // Each sparkline has drawn a line through several polls.
    await page.waitForFunction(
      () => {
        const sparks = Array.from(document.querySelectorAll<SVGSVGElement>('svg.spark'));
        return (
          sparks.length === 3 &&
          sparks.every((svg) => Number(svg.dataset.points) >= 8 && (svg.querySelector('path.line')?.getAttribute('d') ?? '').includes('L'))
        );
      },
      undefined,
      { timeout: 30_000, polling: 250 },
    );
    for (const key of ['connections', 'rate', 'p99']) {
      await expect(page.locator(`#spark-${key}`).getAttribute('aria-label')).resolves.toMatch(/now .*peak/);
    }

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
  } finally {
    await publishing.stop();
  }
  expect(publishing.count()).toBeGreaterThan(0);
  expect(pageErrors).toEqual([]);
}, 90_000);

test("the page shows this node's presence per service: users with a sub, and their connections", async () => {
  const named = createClient({ url: node(0).url, token: await signToken({ org: 'dev', services: ['billing'], sub: 'pat' }), services: ['billing'] });
  clients.push(named);
  await page.waitForFunction(() => document.getElementById('presence')?.textContent?.includes('billing 1 · 1') === true, undefined, { timeout: LIVE_MS });
  const status = (await (await fetch(`${node(0).url}/v1/status`)).json()) as { presence: Record<string, { users: number; connections: number }> };
  expect(status.presence).toEqual({ billing: { users: 1, connections: 1 }, tickets: { users: 0, connections: 0 }, presence: { users: 0, connections: 0 } });
});
