import calculateSlot from 'cluster-key-slot';
import { connectRedis, type RedisHandle } from '../server/src/stream/redis-client';
import { clusterNodeCommand, startRedisCluster, waitUntil, type RedisClusterHandle } from './harness';

/**
 * The slot map of a Redis Cluster client must heal by itself. Found by the chaos cluster-failover
 * scenario: a map learned while a failover was under way had no owner for the failed-over slots
 * ("CLUSTERDOWN Hash slot not served" on the node asked), and node-redis then failed every command of
 * those slots ("Cannot read properties of undefined (reading 'master')") for ever, since nothing made
 * it ask again: a node's partition reader read nothing more and its clients got nothing, and no resync.
 * Here the same hole is made on purpose: a master gives up a slot (CLUSTER DELSLOTS), the client
 * learns the map from it, and the master takes the slot back.
 */

let redis: RedisClusterHandle;
let handle: RedisHandle | undefined;

beforeAll(async () => {
  redis = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
}, 60_000);

afterAll(async () => {
  await handle?.close();
  await redis?.cleanup();
}, 30_000);

const on = clusterNodeCommand;

test('commands of a slot the client’s map has no owner for fail only until the slot is served again', async () => {
  // The first seed is where the client learns the map from.
  const seed = redis.nodes[0] as (typeof redis.nodes)[number];
  let key = '';
  for (let i = 0; ; i++) {
    key = `slot-map-${i}`;
    if ((await redis.masterOf(calculateSlot(key))).port === seed.port) break;
  }
  const slot = String(calculateSlot(key));
  handle = await connectRedis({ clusterUrls: redis.urls }, { failFast: true, name: 'slot-map', onError: () => undefined });
  await handle.send(key, ['SET', key, 'before']);

  await on(seed.port, ['CLUSTER', 'DELSLOTS', slot]);
  // A reconnect makes the client learn the map again, from the seed, which serves the slot no more.
  await on(seed.port, ['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
  await waitUntil(
    async () => {
      try {
        await handle?.send(key, ['GET', key]);
        return false;
      } catch (err) {
        return /reading 'master'/.test((err as Error).message);
      }
    },
    { what: 'the client to have no owner for the slot in its map', timeoutMs: 15_000, intervalMs: 100 },
  );

  await on(seed.port, ['CLUSTER', 'ADDSLOTS', slot]);
  await waitUntil(
    async () => {
      try {
        return (await handle?.send(key, ['GET', key])) === 'before';
      } catch {
        return false;
      }
    },
    { what: 'the slot served to the client again', timeoutMs: 15_000, intervalMs: 200 },
  );
}, 60_000);
