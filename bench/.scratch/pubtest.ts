import { createPublisher } from '@roomwire/server';
import { startRedis } from '../../test/harness';
import { createClient } from 'redis';

async function main(): Promise<void> {
  const redis = await startRedis();
  try {
    const publisher = await createPublisher({ redisUrl: redis.url, batching: { batchWindowMs: 20, maxBatchEvents: 100, maxBatchBytes: 65536 } });
    const errors = new Map<string, number>();
    let ok = 0;
    const all: Promise<void>[] = [];
    for (let i = 0; i < 60000; i++) {
      all.push(
        publisher
          .to(`bench-${String(i % 10000).padStart(4, '0')}`, 'billing')
          .emit('invoice.paid', { invoiceId: `in_${i}`, amountCents: 30_000_000 + i })
          .then(() => { ok++; }, (err: Error) => { errors.set(err.message, (errors.get(err.message) ?? 0) + 1); }),
      );
    }
    await Promise.all(all);
    console.log('ok', ok, 'errors', [...errors.entries()].slice(0, 5));
    const c = createClient({ url: redis.url });
    await c.connect();
    console.log(await c.info('memory').then((s) => /used_memory:(\d+)/.exec(s)?.[1]), await c.keys('*').then((k) => k.slice(0, 10)));
    for (const k of await c.keys('*').then((ks) => ks.slice(0, 3))) { const t = await c.type(k); if (t === 'stream') console.log(k, await c.xLen(k)); }
    await c.close();
    await publisher.close();
  } finally {
    await redis.cleanup();
  }
}
void main();
