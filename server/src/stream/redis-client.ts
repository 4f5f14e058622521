import { createClient } from 'redis';

/** The node-redis client type used throughout the server. */
export type RedisClient = ReturnType<typeof createClient>;

/** Most commands a fail-fast client queues before refusing more. */
const MAX_QUEUED_COMMANDS = 20_000;

/** Longest wait for the first connection to Redis at start-up. */
const CONNECT_TIMEOUT_MS = 10_000;

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Creates and connects a client. `failFast` rejects commands while reconnecting instead of queueing
 * them, so that a publish during an outage fails loudly (and retryably) rather than hanging.
 */
export async function connectRedis(url: string, options: { failFast: boolean; name: string; onError: (err: Error) => void }): Promise<RedisClient> {
  const client = createClient({
    url,
    name: options.name,
    disableOfflineQueue: options.failFast,
    // A publish burst faster than Redis fails loudly (and retryably) instead of queueing without bound.
    ...(options.failFast ? { commandsQueueMaxLength: MAX_QUEUED_COMMANDS } : {}),
    socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
  client.on('error', options.onError);
  // node-redis retries the first connection forever; start-up must fail loudly instead.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`could not connect to Redis at ${redactUrl(url)} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([client.connect(), timeout]);
  } catch (err) {
    client.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return client;
}
