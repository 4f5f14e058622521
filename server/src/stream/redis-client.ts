import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { createClient, createCluster } from 'redis';

/** The node-redis client type for one Redis (what the rate limiter, the status hash and the streams adapter take). */
export type RedisClient = ReturnType<typeof createClient>;
type ClusterClient = ReturnType<typeof createCluster>;

/** Where Redis is: one server (`redis://…`), or the seed nodes of a Redis Cluster. */
export type RedisTarget = { url: string } | { clusterUrls: readonly string[] };

/** A Lua script, run by SHA and loaded again wherever a node lost its script cache. */
export interface LuaScript {
  source: string;
  sha: string;
}

/** Names a Lua script once (its SHA1 is what EVALSHA takes). */
export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Options of one command. */
export interface CommandOptions {
  abortSignal?: AbortSignal;
}

/**
 * Roomwire's narrow view of Redis, the same for one server and for a Redis Cluster: commands are routed
 * by their key (every key of one command shares a hash tag), pub/sub is sharded on a cluster, and a
 * blocking reader gets a connection of its own. Nothing outside the stream layer needs to know which.
 */
export interface RedisHandle {
  readonly isCluster: boolean;
  /** Runs a command on the Redis node that owns `key`. */
  send<T = unknown>(key: string, args: readonly string[], options?: CommandOptions): Promise<T>;
  /** Runs a Lua script whose keys share `keys[0]`'s slot. */
  run<T = unknown>(script: LuaScript, keys: readonly string[], args: readonly string[], options?: CommandOptions): Promise<T>;
  /** Publishes on a channel (sharded pub/sub on a cluster: the channel's hash tag picks the shard). */
  publish(channel: string, message: string): Promise<void>;
  /** Subscribes on a subscriber connection of this handle's (made on first use). */
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** A new handle with connections of its own (for blocking reads); its commands fail while it reconnects. */
  dedicated(name: string): Promise<RedisHandle>;
  /** Resolves when Redis answers PING. */
  ping(): Promise<void>;
  /** Calls `listener` each time a connection of this handle comes (back) up; returns the unsubscribe. */
  onReady(listener: () => void): () => void;
  /**
   * The node-redis client, for libraries that take one. On a cluster this is the cluster client, which
   * has the same single-key command methods (typed as a plain client: only those may be used).
   */
  readonly client: RedisClient;
  readonly isOpen: boolean;
  close(): Promise<void>;
}

/** Most commands a fail-fast client queues before refusing more. */
const MAX_QUEUED_COMMANDS = 20_000;
/** Longest wait for the first connection to Redis at start-up. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How often a cluster client refreshes its view of the slots while nodes are failing. */
const TOPOLOGY_REFRESH_MS = 1000;

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function describe(target: RedisTarget): string {
  return 'url' in target ? redactUrl(target.url) : `cluster ${target.clusterUrls.map(redactUrl).join(',')}`;
}

/** Options of {@link connectRedis}. */
export interface ConnectOptions {
  /** Reject commands while reconnecting instead of queueing them (a publish fails loudly and retryably). */
  failFast: boolean;
  name: string;
  onError(err: Error): void;
}

const reconnectStrategy = (retries: number): number => Math.min(50 * 2 ** retries, 2000);

async function withConnectTimeout<T>(target: RedisTarget, connecting: Promise<T>, destroy: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`could not connect to Redis at ${describe(target)} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([connecting, timeout]);
  } catch (err) {
    // node-redis retries the first connection forever; start-up must fail loudly instead.
    destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Connects to one Redis or to a Redis Cluster. */
export async function connectRedis(target: RedisTarget, options: ConnectOptions): Promise<RedisHandle> {
  return 'url' in target ? connectStandalone(target.url, options) : connectCluster(target.clusterUrls, options);
}

function clientOptions(options: ConnectOptions) {
  return {
    name: options.name,
    disableOfflineQueue: options.failFast,
    ...(options.failFast ? { commandsQueueMaxLength: MAX_QUEUED_COMMANDS } : {}),
  };
}

async function connectStandalone(url: string, options: ConnectOptions): Promise<RedisHandle> {
  const client = createClient({ url, ...clientOptions(options), socket: { reconnectStrategy } });
  client.on('error', options.onError);
  await withConnectTimeout({ url }, client.connect(), () => client.destroy());
  return standaloneHandle(client, { owned: true, onError: options.onError });
}

/**
 * A handle on a connected node-redis client of one Redis (e.g. one the application passes in). Closing
 * the handle closes the client only if it is `owned`; connections the handle makes itself are its own.
 */
export function standaloneHandle(client: RedisClient, options: { owned: boolean; onError(err: Error): void }): RedisHandle {
  let subscriber: Promise<RedisClient> | undefined;
  const subscriberClient = (): Promise<RedisClient> =>
    (subscriber ??= (async () => {
      const sub = client.duplicate({ disableOfflineQueue: false });
      sub.on('error', options.onError);
      await sub.connect();
      return sub;
    })());
  return {
    isCluster: false,
    client,
    get isOpen() {
      return client.isOpen;
    },
    send: (_key, args, opts) => client.sendCommand([...args], opts),
    run: scriptRunner((_key, args, opts) => client.sendCommand(args, opts)),
    async publish(channel, message) {
      await client.publish(channel, message);
    },
    async subscribe(channel, listener) {
      await (await subscriberClient()).subscribe(channel, listener);
    },
    async unsubscribe(channel) {
      if (subscriber) await (await subscriber).unsubscribe(channel);
    },
    async dedicated(name) {
      const own = client.duplicate({ name, disableOfflineQueue: true, commandsQueueMaxLength: MAX_QUEUED_COMMANDS });
      own.on('error', options.onError);
      await withConnectTimeout({ url: 'redis://(duplicate)' }, own.connect(), () => own.destroy());
      return standaloneHandle(own, { owned: true, onError: options.onError });
    },
    async ping() {
      await client.ping();
    },
    onReady(listener) {
      client.on('ready', listener);
      return () => client.off('ready', listener);
    },
    async close() {
      const sub = subscriber;
      subscriber = undefined;
      await Promise.allSettled([
        sub?.then((s) => (s.isOpen ? s.close() : undefined)),
        options.owned && client.isOpen ? client.close() : undefined,
      ]);
    },
  };
}

/** The part of node-redis's cluster internals used to refresh the slot map (see {@link connectCluster}). */
interface ClusterSlotsInternals {
  _slots?: { rediscover(startWith: { options?: unknown }): Promise<void> };
}

async function connectCluster(urls: readonly string[], options: ConnectOptions, minimizeConnections = false): Promise<RedisHandle> {
  if (urls.length === 0) throw new TypeError('connectRedis: a Redis Cluster needs at least one seed URL');
  const rootNodes = urls.map((url) => ({ url }));
  const cluster: ClusterClient = createCluster({
    rootNodes,
    minimizeConnections,
    defaults: { ...clientOptions(options), socket: { reconnectStrategy } },
  });
  cluster.on('error', options.onError);
  cluster.on('node-error', options.onError);
  // node-redis learns the slot map again only on MOVED/ASK; a master that died answers neither, so
  // without this its slots would point at the dead node for ever (node-redis issue #2806).
  let refresh: NodeJS.Timeout | undefined;
  const rediscover = (): void => {
    if (refresh !== undefined || !cluster.isOpen) return;
    refresh = setTimeout(() => {
      refresh = undefined;
      if (!cluster.isOpen) return;
      (cluster as unknown as ClusterSlotsInternals)._slots?.rediscover({ options: rootNodes[0] }).catch(() => undefined);
    }, TOPOLOGY_REFRESH_MS);
    refresh.unref();
  };
  cluster.on('node-error', rediscover);
  cluster.on('node-reconnecting', rediscover);
  /**
   * Any failed command also refreshes the slot map (at most once per TOPOLOGY_REFRESH_MS). Why: a map
   * learned from a node while a failover was under way can have no owner for the failed-over slots
   * (`CLUSTERDOWN Hash slot not served`); node-redis then fails every command of those slots (a
   * TypeError, "reading 'master'") without a MOVED, an error or a reconnect that would make it look
   * again, so a partition reader failed for ever: its clients were sent nothing, and no resync (the
   * chaos cluster-failover scenario).
   */
  const refreshOnFailure = <T>(sending: Promise<T>): Promise<T> =>
    sending.catch((err: unknown) => {
      rediscover();
      throw err;
    });
  await withConnectTimeout({ clusterUrls: urls }, cluster.connect(), () => cluster.destroy());
  const listeners = new Set<() => void>();
  cluster.on('node-ready', () => {
    for (const listener of listeners) listener();
  });
  return {
    isCluster: true,
    client: cluster as unknown as RedisClient,
    get isOpen() {
      return cluster.isOpen;
    },
    send: (key, args, opts) => refreshOnFailure(cluster.sendCommand(key, false, [...args], opts)),
    run: scriptRunner((key, args, opts) => refreshOnFailure(cluster.sendCommand(key, false, args, opts))),
    async publish(channel, message) {
      await refreshOnFailure(cluster.sPublish(channel, message));
    },
    async subscribe(channel, listener) {
      await refreshOnFailure(cluster.sSubscribe(channel, listener));
    },
    async unsubscribe(channel) {
      await cluster.sUnsubscribe(channel);
    },
    dedicated: (name) => connectCluster(urls, { ...options, failFast: true, name }, true),
    async ping() {
      await Promise.all(cluster.masters.map(async (master) => (await cluster.nodeClient(master)).ping()));
    },
    onReady(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      clearTimeout(refresh);
      listeners.clear();
      if (cluster.isOpen) await cluster.close();
    },
  };
}

type Send = (key: string, args: string[], options?: CommandOptions) => Promise<unknown>;

/**
 * Runs Lua scripts by SHA on one handle's connections, loading them again, in order, wherever Redis
 * lost them (a restart, a failover to a replica, `SCRIPT FLUSH`). Falling back to EVAL as each refusal
 * comes would reorder a pipeline: the first EVAL caches the script, so a later call's EVALSHA could run
 * before the EVAL of an earlier call refused alike (the chaos redis-restart scenario saw appends stored
 * out of order). Instead, once a call is refused, nothing is loaded until every EVALSHA in flight has
 * answered (each is refused alike, in order); then the scripts are loaded and the refused calls sent
 * again in the order they were first sent, before any later call. A call whose caller gave up meanwhile
 * (its abort signal fired) is not sent again.
 */
function scriptRunner(send: Send): RedisHandle['run'] {
  let outstanding = 0;
  const drained: (() => void)[] = [];
  const retries: (() => void)[] = [];
  const toLoad = new Map<string, { script: LuaScript; key: string }>();
  let reloading: Promise<void> | undefined;

  const counted = (sending: Promise<unknown>): Promise<unknown> => {
    outstanding += 1;
    const settle = (): void => {
      outstanding -= 1;
      if (outstanding === 0) for (const wake of drained.splice(0)) wake();
    };
    sending.then(settle, settle);
    return sending;
  };
  const reload = async (): Promise<void> => {
    try {
      while (outstanding > 0) await new Promise<void>((resolve) => drained.push(resolve));
      for (const { script, key } of toLoad.values()) await send(key, ['SCRIPT', 'LOAD', script.source]);
      toLoad.clear();
    } catch {
      // Redis is away again: the calls sent again fail too, and their callers see the error.
    } finally {
      reloading = undefined;
      for (const retry of retries.splice(0)) retry();
    }
  };

  return async <T>(script: LuaScript, keys: readonly string[], args: readonly string[], options?: CommandOptions): Promise<T> => {
    while (reloading) await reloading;
    const signal = options?.abortSignal;
    if (signal?.aborted) throw signal.reason;
    const key = keys[0] ?? '';
    const attempt = (): Promise<unknown> => counted(send(key, ['EVALSHA', script.sha, String(keys.length), ...keys, ...args], options));
    try {
      return (await attempt()) as T;
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
      // Per slot: on a cluster each master has a script cache of its own.
      toLoad.set(`${script.sha}:${calculateSlot(key)}`, { script, key });
      return new Promise<T>((resolve, reject) => {
        retries.push(() => {
          if (signal?.aborted) reject(signal.reason);
          else attempt().then((reply) => resolve(reply as T), reject);
        });
        reloading ??= reload();
      });
    }
  };
}
