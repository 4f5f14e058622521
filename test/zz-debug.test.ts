import pino from 'pino';
import type { EventEnvelope } from '@roomwire/shared';
import { startTcpProxy, waitUntil } from './harness';
import { startCluster } from './support/cluster';
import { signToken, uniqueOrg } from './support/tokens';

test('debug', async () => {
  const cluster = await startCluster({ nodes: 1, node: { logger: pino({ level: 'debug' }) } });
  const [a] = cluster.nodes;
  const org = uniqueOrg();
  const proxy = await startTcpProxy(Number(new URL(a!.url).port));
  const cut = cluster.client({ url: proxy.url, token: () => signToken({ org, services: '*' }), services: ['presence', 'billing'] });
  const got: EventEnvelope[] = [];
  cut.onEvent((e) => got.push(e));
  cut.onResync((r) => console.log('RESYNC', r));
  await waitUntil(() => cut.state === 'connected', { what: 'c' });
  await cluster.publisher.to(org, 'presence').emit('user.typing', { userId: 'u1' });
  await waitUntil(() => got.length === 1, { what: 'v' });
  proxy.cut();
  await waitUntil(() => cut.state === 'reconnecting', { what: 'the cut' });
  const durable = await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'd', amountCents: 1 });
  console.log('published', durable);
  proxy.restore();
  await waitUntil(() => got.some((e) => e.id === durable.id), { what: 'the durable event replayed' }).catch((e) => console.log(e));
  console.log(cut.metrics(), a!.stats());
  await proxy.close();
  await cluster.cleanup();
});
