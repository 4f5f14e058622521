/** Test harness for roomwire integration tests: real redis-server processes, TCP proxies, child nodes. */
export { answers200, spawnNode, NODE_START_TIMEOUT_MS, SERVER_CLI, type ChildNodeHandle, type SpawnNodeOptions } from './child-node';
export { LineBuffer } from './line-buffer';
export { freePort } from './ports';
export { startRedis, type RedisServerHandle, type RedisServerOptions } from './redis-server';
export { startTcpProxy, type TcpProxy } from './tcp-proxy';
export { DEFAULT_WAIT_MS, deferred, waitFor, waitUntil, type Deferred, type EmitterLike, type Listener, type WaitUntilOptions } from './wait';
