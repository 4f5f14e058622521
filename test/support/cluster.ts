import pino from 'pino';
import { createNode, createPublisher, type NodeOptions, type Publisher, type RoomwireNode } from '@roomwire/server';
import { createClient, type ClientOptions, type RoomwireClient } from '@roomwire/client';
import { startRedis, type RedisServerHandle } from '../harness';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY } from './tokens';

/** A test cluster: one real redis-server, N in-process nodes, a publisher, and one cleanup. */
export interface TestCluster {
  redis: RedisServerHandle;
  nodes: RoomwireNode[];
  publisher: Publisher;
  /** Opens a client; closed by `cleanup()`. */
  client(options: Omit<ClientOptions, 'url'> & { url?: string }): RoomwireClient;
  cleanup(): Promise<void>;
}

/** Starts `nodes` nodes on one fresh redis-server. */
export async function startCluster(options: { nodes: number; node?: Partial<NodeOptions> }): Promise<TestCluster> {
  const redis = await startRedis();
  const nodes: RoomwireNode[] = [];
  const clients: RoomwireClient[] = [];
  try {
    for (let i = 0; i < options.nodes; i++) nodes.push(await createNode(testNodeOptions({ redisUrl: redis.url, nodeId: `node-${i}`, ...options.node })));
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.close()));
    await redis.cleanup();
    throw err;
  }
  // Every writer trims the stream, so the publisher shares the nodes' window and length cap.
  const publisher = await createPublisher({
    redisUrl: redis.url,
    ...(options.node?.replayWindowMs ? { replayWindowMs: options.node.replayWindowMs } : {}),
    ...(options.node?.maxStreamLength ? { maxStreamLength: options.node.maxStreamLength } : {}),
  });
  return {
    redis,
    nodes,
    publisher,
    client(clientOptions) {
      const client = createClient({ url: (nodes[0] as RoomwireNode).url, minReconnectDelayMs: 50, maxReconnectDelayMs: 300, ...clientOptions });
      clients.push(client);
      return client;
    },
    async cleanup() {
      for (const client of clients) client.close();
      await publisher.close();
      await Promise.allSettled(nodes.map((n) => n.close()));
      await redis.cleanup();
    },
  };
}

/** Node options for tests: test secrets, quiet logs, fast pings. */
export function testNodeOptions(overrides: Partial<NodeOptions> = {}): NodeOptions {
  return {
    auth: { jwtSecret: TEST_JWT_SECRET },
    publishApiKey: TEST_PUBLISH_KEY,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...overrides,
  };
}
