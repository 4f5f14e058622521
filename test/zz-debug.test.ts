import { startRedisCluster } from './harness';
test('cluster comes up', async () => {
  const c = await startRedisCluster();
  try {
    console.log(c.urls, await c.masterPorts(), (await c.masterOf(0)).port);
  } finally {
    await c.cleanup();
  }
}, 60_000);
