import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A loopback TCP proxy a test can cut and restore to simulate a network outage. */
export interface TcpProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`, handy as a Socket.IO client URL. */
  readonly url: string;
  /** Number of client connections currently proxied. */
  connections(): number;
  /** Destroys every current connection (both sides) and, until restore(), each new one on arrival. */
  cut(): void;
  /** Lets new connections through again. */
  restore(): void;
  /**
   * Stops reading what the server sends (every current connection), like a client that stopped
   * reading its socket: the server's buffers fill up. Client → server traffic still flows.
   */
  pauseDownstream(): void;
  /** Reads and forwards what the server sends again. */
  resumeDownstream(): void;
  /**
   * A network black hole: forwards nothing, either way, on every connection (current and new) until
   * `heal()`, without closing any: neither end sees a reset or a FIN, as when packets are dropped.
   * What was sent meanwhile is delivered on `heal()`.
   */
  blackhole(): void;
  /** Ends a {@link blackhole}: forwards again what was held, and everything after it. */
  heal(): void;
  /** Sends new connections to `port` (existing ones keep their upstream). */
  setTarget(port: number): void;
  /** Destroys all connections and stops listening. */
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1:<random> forwarding each connection to 127.0.0.1:`targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let target = targetPort;
  let isCut = false;
  const pairs = new Set<[Socket, Socket]>();
  const paused = new Set<[Socket, Socket]>();
  const held = new Set<[Socket, Socket]>();
  let holed = false;
  const hold = (pair: [Socket, Socket]): void => {
    if (held.has(pair)) return;
    held.add(pair);
    const [client, upstream] = pair;
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };

  const server = createServer((client) => {
    client.on('error', () => {});
    if (isCut) {
      client.destroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    upstream.on('error', () => {});
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const teardown = (): void => {
      pairs.delete(pair);
      held.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', teardown);
    upstream.once('close', teardown);
    client.pipe(upstream);
    upstream.pipe(client);
    if (holed) hold(pair);
  });
  server.on('error', () => {});

  const destroyAll = (): void => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => pairs.size,
    cut() {
      isCut = true;
      destroyAll();
    },
    restore() {
      isCut = false;
    },
    pauseDownstream() {
      for (const pair of pairs) {
        if (paused.has(pair)) continue;
        paused.add(pair);
        pair[1].unpipe(pair[0]);
        pair[1].pause();
      }
    },
    resumeDownstream() {
      // Only pairs this proxy paused: piping a stream twice to one socket would send every byte twice.
      for (const pair of paused) if (pairs.has(pair) && !held.has(pair)) pair[1].pipe(pair[0]);
      paused.clear();
    },
    blackhole() {
      holed = true;
      for (const pair of pairs) hold(pair);
    },
    heal() {
      holed = false;
      for (const pair of held) {
        if (!pairs.has(pair)) continue;
        pair[0].pipe(pair[1]);
        // A downstream paused by pauseDownstream() stays paused until resumeDownstream().
        if (!paused.has(pair)) pair[1].pipe(pair[0]);
      }
      held.clear();
    },
    setTarget(next) {
      target = next;
    },
    close() {
      destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
