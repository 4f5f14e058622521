import pino from 'pino';
import type { EventEnvelope } from '@roomwire/shared';
import { createNode, createPublisher, type NodeOptions, type Publisher, type RoomwireNode } from '@roomwire/server';
import { createClient, type ClientOptions, type ResyncInfo, type RoomwireClient } from '@roomwire/client';
import { startRedis, startTcpProxy, waitUntil, type RedisServerHandle, type TcpProxy } from '../harness';
import { signToken, TEST_JWT_SECRET, TEST_PUBLISH_KEY } from './tokens';

/** A client of one org's `billing` behind a TCP proxy to the first node, with what it has been sent. */
export interface ProxiedClient {
  client: RoomwireClient;
  /** Cut and restore the client's connection with it. */
  proxy: TcpProxy;
  /** Its `billing/invoice.paid` events, in arrival order. */
  received: EventEnvelope[];
  resyncs: ResyncInfo[];
}

/** A test cluster: one real redis-server, N in-process nodes, a publisher, and one cleanup. */
export interface TestCluster {
  redis: RedisServerHandle;
  nodes: RoomwireNode[];
  publisher: Publisher;
  /** Opens a client; closed by `cleanup()`. */
  client(options: Omit<ClientOptions, 'url'> & { url?: string }): RoomwireClient;
  /** Opens a {@link ProxiedClient} for `org` and waits until it is connected; closed by `cleanup()`. */
  proxiedClient(org: string): Promise<ProxiedClient>;
  cleanup(): Promise<void>;
}

/** Starts `nodes` nodes on one fresh redis-server. */
export async function startCluster(options: { nodes: number; node?: Partial<NodeOptions> }): Promise<TestCluster> {
  const redis = await startRedis();
  const nodes: RoomwireNode[] = [];
  const clients: RoomwireClient[] = [];
  const proxies: TcpProxy[] = [];
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
  const openClient = (clientOptions: Omit<ClientOptions, 'url'> & { url?: string }): RoomwireClient => {
    const client = createClient({ url: (nodes[0] as RoomwireNode).url, minReconnectDelayMs: 50, maxReconnectDelayMs: 300, ...clientOptions });
    clients.push(client);
    return client;
  };
  return {
    redis,
    nodes,
    publisher,
    client: openClient,
    async proxiedClient(org) {
      const proxy = await startTcpProxy(Number(new URL((nodes[0] as RoomwireNode).url).port));
      proxies.push(proxy);
      const client = openClient({ url: proxy.url, token: () => signToken({ org, services: ['billing'] }), services: ['billing'] });
      const received: EventEnvelope[] = [];
      const resyncs: ResyncInfo[] = [];
      client.on('billing', 'invoice.paid', (_d, e) => received.push(e));
      client.onResync((info) => resyncs.push(info));
      await waitUntil(() => client.state === 'connected', { what: 'client connected' });
      return { client, proxy, received, resyncs };
    },
    async cleanup() {
      for (const client of clients) client.close();
      await Promise.all(proxies.map((proxy) => proxy.close()));
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
