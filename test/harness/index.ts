/** Test harness for roomwire integration tests: real redis-server processes, TCP proxies, child nodes. */
export { answers200, spawnNode, NODE_START_TIMEOUT_MS, SERVER_CLI, type ChildNodeHandle, type SpawnNodeOptions } from './child-node';
export { LineBuffer } from './line-buffer';
export { freePort } from './ports';
export { startRedis, type RedisRestartOptions, type RedisServerHandle, type RedisServerOptions } from './redis-server';
export { command as clusterNodeCommand, startRedisCluster, type ClusterNode, type RedisClusterHandle, type RedisClusterOptions } from './redis-cluster';
export { clockOffsetEnv } from './clock-offset';
export { startTcpProxy, type TcpProxy } from './tcp-proxy';
export { DEFAULT_WAIT_MS, deferred, waitFor, waitUntil, type Deferred, type EmitterLike, type Listener, type WaitUntilOptions } from './wait';
