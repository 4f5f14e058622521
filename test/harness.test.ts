import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { Server as IoServer } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import {
  deferred,
  freePort,
  spawnNode,
  startRedis,
  startTcpProxy,
  waitFor,
  waitUntil,
  type RedisServerHandle,
  type TcpProxy,
} from './harness';

/** Runs `fn` with a connected node-redis client, always closing it. */
async function withClient<T>(url: string, fn: (c: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/** An echo server on a random loopback port; replies are prefixed with `tag`. */
async function startEcho(tag: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write(`${tag}:${d.toString()}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Opens a client socket to `port`, sends `msg` and resolves with the first reply. */
async function echo(port: number, msg: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  try {
    await waitFor(socket, 'connect', 2000, `connect to :${port}`);
    socket.write(msg);
    const data = await waitFor<Buffer>(socket, 'data', 2000, `echo of "${msg}"`);
    return data.toString();
  } finally {
    socket.destroy();
  }
}

describe('wait helpers', () => {
  test('waitFor resolves with the first argument and times out descriptively', async () => {
    const { EventEmitter } = await import('node:events');
    const ee = new EventEmitter();
    const p = waitFor<number>(ee, 'tick');
    ee.emit('tick', 42, 'ignored');
    await expect(p).resolves.toBe(42);

    await expect(waitFor(ee, 'never', 30)).rejects.toThrow('timed out after 30ms waiting for never');
    await expect(waitFor(ee, 'never', 30, 'the moon')).rejects.toThrow('timed out after 30ms waiting for the moon');
    expect(ee.listenerCount('never')).toBe(0);
  });

  test('waitUntil polls until true and times out descriptively', async () => {
    let n = 0;
    await waitUntil(() => ++n >= 3, { what: 'three polls', intervalMs: 1 });
    expect(n).toBe(3);
    await expect(waitUntil(() => false, { what: 'pigs to fly', timeoutMs: 30 })).rejects.toThrow(
      'timed out after 30ms waiting for pigs to fly',
    );
  });

  test('deferred settles from outside', async () => {
    const d = deferred<string>();
    d.resolve('done');
    await expect(d.promise).resolves.toBe('done');
  });

  test('freePort returns a bindable loopback port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(6379);
    const server = createServer().listen(port, '127.0.0.1');
    await once(server, 'listening');
    server.close();
  });

  test('freePort hands out distinct ports, below the kernel range of outgoing connections', async () => {
    const range = existsSync('/proc/sys/net/ipv4/ip_local_port_range') ? readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) : [];
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    // A port from that range can be given to a client socket between freePort() and the server's bind.
    if (range[0] !== undefined) expect(ports.filter((port) => port >= (range[0] as number))).toEqual([]);
  });
});

describe('startRedis', () => {
  const servers: RedisServerHandle[] = [];
  const start = async (appendOnly: boolean): Promise<RedisServerHandle> => {
    const r = await startRedis({ appendOnly });
    servers.push(r);
    return r;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((r) => r.cleanup()));
  });

  test('answers PING on its own loopback port', async () => {
    const r = await start(false);
    expect(r.port).not.toBe(6379);
    expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
    await expect(withClient(r.url, (c) => c.ping())).resolves.toBe('PONG');
  });

  test('kill() then restart() comes back on the same port; without AOF data is lost', async () => {
    const r = await start(false);
    await withClient(r.url, (c) => c.set('k', 'v'));
    const firstPid = r.pid;
    await r.kill();
    expect(r.running()).toBe(false);
    await expect(withClient(r.url, (c) => c.ping())).rejects.toThrow();
    await r.restart();
    expect(r.pid).not.toBe(firstPid);
    await expect(withClient(r.url, (c) => c.get('k'))).resolves.toBeNull();
  });

  test('with appendOnly a key survives stop() + restart()', async () => {
    const r = await start(true);
    await withClient(r.url, (c) => c.set('k', 'kept'));
    await r.stop();
    await r.restart();
    await expect(withClient(r.url, (c) => c.get('k'))).resolves.toBe('kept');
  });

  test('cleanup() kills the process', async () => {
    const r = await startRedis();
    const pid = r.pid;
    await r.cleanup();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('startTcpProxy', () => {
  let proxy: TcpProxy;
  const echoes: Server[] = [];
  afterEach(async () => {
    await proxy.close();
    for (const s of echoes.splice(0)) s.close();
  });

  test('proxies, cuts, restores and retargets', async () => {
    const a = await startEcho('a');
    const b = await startEcho('b');
    echoes.push(a.server, b.server);
    proxy = await startTcpProxy(a.port);
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}`);

    await expect(echo(proxy.port, 'hi')).resolves.toBe('a:hi');

    // A live connection is closed by cut().
    const live: Socket = connect(proxy.port, '127.0.0.1');
    live.on('error', () => {});
    await waitFor(live, 'connect');
    await waitUntil(() => proxy.connections() === 1, { what: 'proxy to count the live connection' });
    const closed = waitFor(live, 'close', 2000, 'live socket to close after cut()');
    proxy.cut();
    await closed;
    expect(proxy.connections()).toBe(0);

    // New connections are dropped on arrival while cut.
    const dropped = connect(proxy.port, '127.0.0.1');
    dropped.on('error', () => {});
    await waitFor(dropped, 'close', 2000, 'new connection to be dropped while cut');
    expect(dropped.bytesRead).toBe(0);

    proxy.restore();
    await expect(echo(proxy.port, 'back')).resolves.toBe('a:back');

    proxy.setTarget(b.port);
    await expect(echo(proxy.port, 'moved')).resolves.toBe('b:moved');
  });

  test('blackhole() holds traffic both ways without closing; heal() delivers what was held', async () => {
    const a = await startEcho('a');
    echoes.push(a.server);
    proxy = await startTcpProxy(a.port);
    const live: Socket = connect(proxy.port, '127.0.0.1');
    live.on('error', () => {});
    await waitFor(live, 'connect');
    let received = '';
    live.on('data', (chunk: Buffer) => (received += chunk.toString()));
    live.write('one');
    await waitUntil(() => received === 'a:one', { what: 'the echo before the black hole' });

    proxy.blackhole();
    live.write('two');
    // Connections opened during the black hole are held too.
    const late: Socket = connect(proxy.port, '127.0.0.1');
    late.on('error', () => {});
    await waitFor(late, 'connect');
    let lateReceived = '';
    late.on('data', (chunk: Buffer) => (lateReceived += chunk.toString()));
    late.write('three');
    // Nothing comes back while the hole lasts, and nothing is closed.
    await waitUntil(() => proxy.connections() === 2, { what: 'the proxy to hold the late connection' });
    expect(received).toBe('a:one');
    expect(lateReceived).toBe('');
    expect(live.destroyed).toBe(false);

    proxy.heal();
    await waitUntil(() => received === 'a:onea:two' && lateReceived === 'a:three', { what: 'the held bytes after heal()' });
    live.destroy();
    late.destroy();
  });
});

describe('startTcpProxy with Socket.IO', () => {
  test('cut() disconnects a client, restore() lets it reconnect', async () => {
    const http = createHttpServer();
    const ioServer = new IoServer(http);
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const proxy = await startTcpProxy((http.address() as AddressInfo).port);
    const client = ioClient(proxy.url, {
      transports: ['websocket'],
      reconnectionDelay: 20,
      reconnectionDelayMax: 50,
    });
    try {
      await waitFor(client, 'connect', 5000, 'socket.io client to connect through the proxy');
      const reason = waitFor<string>(client, 'disconnect', 5000, 'disconnect after cut()');
      proxy.cut();
      await expect(reason).resolves.toBe('transport close');
      await waitFor(client.io, 'reconnect_error', 5000, 'a failed reconnect attempt while cut');
      expect(client.connected).toBe(false);
      proxy.restore();
      await waitFor(client, 'connect', 5000, 'reconnect after restore()');
    } finally {
      client.close();
      await proxy.close();
      await ioServer.close();
    }
  });
});

describe('process registry', () => {
  /** True once `pid` is gone or a zombie (its parent may not be around to reap it). */
  const isDead = (pid: number): boolean => {
    try {
      return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  };

  test('redis-server is killed and its dir removed when the owner exits without cleanup', async () => {
    const fixture = path.resolve(__dirname, 'harness/fixtures/leak-redis.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fixture], {
      cwd: path.resolve(__dirname, '..'),
      timeout: 20_000,
    });
    const [pidText = '', dir = ''] = stdout.trim().split(' ');
    const pid = Number(pidText);
    expect(pid).toBeGreaterThan(0);
    await waitUntil(() => isDead(pid), { what: `leaked redis-server ${pid} to die` });
    expect(dir).toContain('roomwire-redis-');
    expect(existsSync(dir)).toBe(false);
  });

  test('redis-server is killed and its dir removed when the owner is ended by SIGTERM, and the owner still dies of it', async () => {
    const fixture = path.resolve(__dirname, 'harness/fixtures/signalled-redis.ts');
    const owner = spawn(process.execPath, ['--import', 'tsx', fixture], { cwd: path.resolve(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    const ended = once(owner, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const [line] = (await once(createInterface({ input: owner.stdout as NodeJS.ReadableStream }), 'line')) as [string];
      const [pidText = '', dir = ''] = line.trim().split(' ');
      const pid = Number(pidText);
      expect(pid).toBeGreaterThan(0);
      expect(isDead(pid)).toBe(false);
      owner.kill('SIGTERM');
      expect(await ended).toEqual([null, 'SIGTERM']);
      await waitUntil(() => isDead(pid), { what: `redis-server ${pid} of the signalled owner to die` });
      expect(existsSync(dir)).toBe(false);
    } finally {
      if (owner.exitCode === null && owner.signalCode === null) owner.kill('SIGKILL');
    }
  });

  test('inside jest too: a redis-server a test file leaves running is killed when jest exits', async () => {
    // Jest gives test files a copy of \`process\` whose 'exit' Node never emits; the registry must
    // listen on the real one. --forceExit: jest calls process.exit with the redis-server still running.
    const root = path.resolve(__dirname, '..');
    const dir = mkdtempSync(path.join(tmpdir(), 'roomwire-harness-jest-'));
    const out = path.join(dir, 'redis.txt');
    try {
      await promisify(execFile)(
        process.execPath,
        [require.resolve('jest/bin/jest'), '--runInBand', '--forceExit', '--ci', '--testMatch', '**/harness/fixtures/leak-in-jest.fixture.ts', '--roots', '<rootDir>/test'],
        { cwd: root, env: { ...process.env, FIXTURE_OUT: out }, timeout: 60_000 },
      );
      const [pidText = '', redisDir = ''] = readFileSync(out, 'utf8').split(' ');
      const pid = Number(pidText);
      expect(pid).toBeGreaterThan(0);
      await waitUntil(() => isDead(pid), { what: `redis-server ${pid} left by the jest fixture to die` });
      expect(redisDir).toContain('roomwire-redis-');
      expect(existsSync(redisDir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('spawnNode', () => {
  const fixture = path.resolve(__dirname, 'harness/fixtures/echo-http.ts');

  test('resolves when readyUrl answers 200, captures output, kill() resolves on exit', async () => {
    const port = await freePort();
    const node = await spawnNode({
      entry: fixture,
      env: { FIXTURE_PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}/healthz`,
    });
    try {
      await waitUntil(() => node.output().includes(`fixture listening on ${port}`), { what: 'fixture log line' });
    } finally {
      await node.kill();
    }
    await expect(node.exited).resolves.toBeNull();
  });

  test('rejects with the child output when it exits before ready', async () => {
    const port = await freePort();
    await expect(
      spawnNode({
        entry: fixture,
        env: { FIXTURE_PORT: String(port), FIXTURE_FAIL: 'boom' },
        readyUrl: `http://127.0.0.1:${port}/healthz`,
      }),
    ).rejects.toThrow(/exited before ready \(code 3[\s\S]*fixture failing on purpose: boom/);
  });
});
