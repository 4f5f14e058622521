import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { createClient as createRedisClient } from 'redis';
import { createPublisher, type Publisher } from '@roomwire/server';
import { freePort, spawnNode, startRedis, waitUntil, type ChildNodeHandle, type RedisServerHandle } from '../../test/harness';
import { INSPECT_FLAG, connectInspectorGc, inspectorUrl, type InspectorGc } from './inspector-gc';

/** The services every soak org publishes to and every soak token may see. */
export const SOAK_SERVICES = ['billing', 'tickets'] as const;

/** One Roomwire node of the soak cluster. */
export interface SoakNode {
  name: string;
  url: string;
  handle: ChildNodeHandle;
  /** Full collections on demand, through the node's inspector (loopback only). */
  gc: InspectorGc;
}

/** A fresh Redis, two production nodes on it, a publisher and client tokens. */
export interface SoakCluster {
  redis: RedisServerHandle;
  nodes: [SoakNode, SoakNode];
  publisher: Publisher;
  /** A client token of `org` that may see {@link SOAK_SERVICES}. */
  token(org: string): string;
  /** Redis `used_memory` (INFO memory), in bytes. */
  redisUsedMemory(): Promise<number>;
  /** Stops everything, newest first; never throws. */
  cleanup(): Promise<void>;
}

/**
 * Starts `redis-server` on a free loopback port and two Roomwire nodes (the server CLI, `NODE_ENV=production`)
 * with the given replay window (and recovery cache); the publisher uses the same window, as it must. Each node also opens its
 * inspector on a free loopback port, used for nothing but full garbage collections before memory samples.
 */
export async function startSoakCluster(options: { replayWindowMs: number; recoveryCacheMs: number; orgs: string[]; tokenTtlS: number }): Promise<SoakCluster> {
  const closers: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    closers.length = 0;
  };
  try {
    const redis = await startRedis();
    closers.push(() => redis.cleanup());
    const secret = randomBytes(32).toString('hex');
    const start = async (name: string): Promise<SoakNode> => {
      const port = await freePort();
      const env = {
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        JWT_SECRET: secret,
        PUBLISH_API_KEY: randomBytes(16).toString('hex'),
        REPLAY_WINDOW_MS: String(options.replayWindowMs),
        NODE_ID: name,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        RECOVERY_CACHE_MS: String(options.recoveryCacheMs),
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${INSPECT_FLAG}`.trim(),
      };
      const handle = await spawnNode({ env, readyUrl: `http://127.0.0.1:${port}/readyz` });
      closers.push(() => handle.kill('SIGTERM'));
      await waitUntil(() => inspectorUrl(handle.output()) !== null, { what: `the inspector URL of ${name}`, timeoutMs: 5000 });
      const gc = await connectInspectorGc(inspectorUrl(handle.output()) as string);
      closers.push(() => gc.close());
      return { name, url: `http://127.0.0.1:${port}`, handle, gc };
    };
    const nodes = (await Promise.all([start('soak-a'), start('soak-b')])) as [SoakNode, SoakNode];
    const publisher = await createPublisher({ redisUrl: redis.url, replayWindowMs: options.replayWindowMs });
    closers.push(() => publisher.close());
    const info = createRedisClient({ url: redis.url, name: 'soak-info' });
    info.on('error', () => undefined);
    await info.connect();
    closers.push(() => info.close());

    const key = new TextEncoder().encode(secret);
    const tokens = new Map<string, string>();
    for (const org of options.orgs) {
      const jwt = new SignJWT({ org, services: [...SOAK_SERVICES] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(`${options.tokenTtlS}s`);
      tokens.set(org, await jwt.sign(key));
    }
    return {
      redis,
      nodes,
      publisher,
      token(org) {
        const token = tokens.get(org);
        if (token === undefined) throw new TypeError(`soak: no token for org ${org}`);
        return token;
      },
      async redisUsedMemory() {
        const text = await info.info('memory');
        return Number(/used_memory:(\d+)/.exec(text)?.[1] ?? Number.NaN);
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
