import { createClient } from 'redis';

/** The node-redis client type used throughout the server. */
export type RedisClient = ReturnType<typeof createClient>;

/**
 * Creates and connects a client. `failFast` rejects commands while reconnecting instead of queueing
 * them, so that a publish during an outage fails loudly (and retryably) rather than hanging.
 */
export async function connectRedis(url: string, options: { failFast: boolean; name: string; onError: (err: Error) => void }): Promise<RedisClient> {
  const client = createClient({
    url,
    name: options.name,
    disableOfflineQueue: options.failFast,
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
  client.on('error', options.onError);
  await client.connect();
  return client;
}
