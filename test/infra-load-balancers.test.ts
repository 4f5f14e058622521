import { inflateRawSync } from 'node:zlib';
import { EVENTS, PROTOCOL_VERSION, isDeliveryFrame, type ClientToServerEvents, type EventEnvelope, type ServerToClientEvents } from '@roomwire/shared';
import { createNode, createPublisher, type RoomwireNode } from '@roomwire/server';
import { io, type Socket } from 'socket.io-client';
import type { BalancerHandle, BalancerKind } from '../infra/cluster/balancer-process';
import { startHaproxy } from '../infra/cluster/haproxy';
import { startLocalCluster, type LocalCluster } from '../infra/cluster/launch-cluster';
import { startNginx } from '../infra/cluster/nginx';
import { freePort, waitUntil } from './harness';
import { testNodeOptions } from './support/cluster';
import { handshake } from './support/handshake';
import { TEST_JWT_SECRET, TEST_PUBLISH_KEY, signToken, uniqueOrg } from './support/tokens';

// Raw socket.io-client sockets speaking the Roomwire protocol, because the test must see the engine's
// transport, and because @roomwire/client does not set `withCredentials`, without which
// socket.io-client in Node keeps no cookies (see infra/README.md).

const CLIENTS = 12;
const EVENT_COUNT = 100;

/** One polling-first client and what it saw. */
interface ProbeClient {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  /** Engine transport when the Engine.IO session opened (the handshake). */
  firstTransport: string | undefined;
  subscribed: boolean;
  /** `amountCents` of every event received, in arrival order: the publish sequence numbers. */
  sequence: number[];
  /** Why the connection failed, if it did (connect_error or a disconnect the client did not ask for). */
  failure: string | undefined;
}

/** The envelopes of a frame as shared/PROTOCOL.md defines it: JSON, or large ones as the raw DEFLATE of that JSON in `z`. */
function envelopesOf(frame: unknown): EventEnvelope[] | undefined {
  const z = (frame as { z?: unknown } | null)?.z;
  const plain: unknown = z instanceof Uint8Array || z instanceof ArrayBuffer ? JSON.parse(inflateRawSync(z).toString('utf8')) : frame;
  return isDeliveryFrame(plain) && 'events' in plain ? plain.events : undefined;
}

/**
 * Opens a client that starts on HTTP long-polling and may upgrade to WebSocket (unless `upgrade` is
 * false). Each client has its own X-Forwarded-For address, as behind a cloud load balancer, so nginx's
 * address hash spreads them.
 */
async function openProbeClient(url: string, org: string, index: number, upgrade = true): Promise<ProbeClient> {
  const token = await signToken({ org, services: ['billing'] });
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
    transports: ['polling', 'websocket'],
    upgrade,
    withCredentials: true,
    forceNew: true,
    reconnection: false,
    extraHeaders: { 'X-Forwarded-For': `10.20.${Math.floor(index / 200)}.${(index % 200) + 1}` },
    auth: { token, v: PROTOCOL_VERSION },
  });
  const probe: ProbeClient = { socket, firstTransport: undefined, subscribed: false, sequence: [], failure: undefined };
  socket.io.on('open', () => {
    probe.firstTransport ??= socket.io.engine.transport.name;
  });
  socket.on('connect', () => {
    socket.emitWithAck(EVENTS.subscribe, { services: ['billing'] }).then(
      (ack) => {
        if (ack.ok) probe.subscribed = true;
        else probe.failure ??= `subscribe refused: ${ack.error.code}`;
      },
      (err: Error) => (probe.failure ??= `subscribe failed: ${err.message}`),
    );
  });
  socket.on('connect_error', (err: Error & { description?: unknown }) => {
    probe.failure ??= `connect_error: ${err.message} ${String(err.description ?? '')}`.trim();
  });
  socket.on('disconnect', (reason) => {
    if (reason !== 'io client disconnect') probe.failure ??= `disconnect: ${reason}`;
  });
  socket.on(EVENTS.event, (frame) => {
    const events = envelopesOf(frame);
    if (events === undefined) probe.failure ??= 'received a frame this probe cannot read';
    else for (const envelope of events) probe.sequence.push((envelope.data as { amountCents: number }).amountCents);
  });
  return probe;
}

/** Publishes `count` events numbered 0… through the library, a few per tick, so they interleave with the clients' requests. */
async function publishNumbered(redisUrl: string, org: string, count: number): Promise<void> {
  const publisher = await createPublisher({ redisUrl });
  try {
    for (let i = 0; i < count; i += 5) {
      const tick = Array.from({ length: Math.min(5, count - i) }, (_, k) =>
        publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `lb-${i + k}`, amountCents: i + k }),
      );
      await Promise.all(tick);
    }
  } finally {
    await publisher.close();
  }
}

/** Which node served each request of each Engine.IO session, read from the balancer's access log. */
function nodesBySession(accessLog: string[]): Map<string, Set<string>> {
  const sessions = new Map<string, Set<string>>();
  for (const line of accessLog) {
    const sid = /[?&]sid=([^&\s"]+)/.exec(line)?.[1];
    // HAProxy logs `backend/server`, nginx `upstream=host:port`.
    const node = /roomwire_nodes\/(\S+)/.exec(line)?.[1] ?? /upstream=(\S+)/.exec(line)?.[1];
    if (sid === undefined || node === undefined) continue;
    const nodes = sessions.get(sid) ?? new Set<string>();
    nodes.add(node);
    sessions.set(sid, nodes);
  }
  return sessions;
}

describe.each<BalancerKind>(['haproxy', 'nginx'])('through %s in front of three nodes', (balancer) => {
  let cluster: LocalCluster;
  const probes: ProbeClient[] = [];

  beforeAll(async () => {
    cluster = await startLocalCluster({ balancer, jwtSecret: TEST_JWT_SECRET, publishApiKey: TEST_PUBLISH_KEY });
    // Three child nodes start at once, each within the harness's NODE_START_TIMEOUT_MS.
  }, 150_000);

  afterAll(async () => {
    for (const probe of probes) probe.socket.close();
    await cluster?.stop();
  }, 30_000);

  test('clients that start on long-polling upgrade to WebSocket, keep each session on one node, and receive every event', async () => {
    const org = uniqueOrg();
    probes.push(...(await Promise.all(Array.from({ length: CLIENTS }, (_, i) => openProbeClient(cluster.url, org, i)))));
    await waitUntil(() => probes.every((p) => p.subscribed || p.failure !== undefined), { what: `${CLIENTS} clients subscribed`, timeoutMs: 15_000 });
    expect(probes.map((p) => p.failure)).toEqual(probes.map(() => undefined));

    // Published while some clients may still be upgrading: no event may fall between the transports.
    await publishNumbered(cluster.redis.url, org, EVENT_COUNT);
    const expected = Array.from({ length: EVENT_COUNT }, (_, i) => i);
    await waitUntil(() => probes.every((p) => p.sequence.length >= EVENT_COUNT || p.failure !== undefined), { what: `${EVENT_COUNT} events on every client`, timeoutMs: 15_000 }).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(probes.map((p) => ({ n: p.sequence.length, failure: p.failure })))}`);
    });
    await waitUntil(() => probes.every((p) => p.socket.io.engine.transport.name === 'websocket'), { what: 'every client on WebSocket', timeoutMs: 10_000 });

    expect(probes.map((p) => p.firstTransport)).toEqual(probes.map(() => 'polling'));
    for (const probe of probes) expect(probe.sequence).toEqual(expected);
    expect(probes.map((p) => p.failure)).toEqual(probes.map(() => undefined));

    const sessions = nodesBySession(await cluster.balancer.accessLog());
    const ours = probes.map((p) => sessions.get(p.socket.io.engine.id) ?? new Set<string>());
    // Every request of a session (polls, posts, the upgrade) reached one node, and the sessions were spread.
    expect(ours.map((nodes) => nodes.size)).toEqual(probes.map(() => 1));
    expect(new Set(ours.flatMap((nodes) => [...nodes])).size).toBeGreaterThan(1);
  }, 60_000);
});

describe('through HAProxy without stickiness (round-robin)', () => {
  let cluster: LocalCluster;
  const probes: ProbeClient[] = [];

  beforeAll(async () => {
    cluster = await startLocalCluster({ balancer: 'haproxy-roundrobin', jwtSecret: TEST_JWT_SECRET, publishApiKey: TEST_PUBLISH_KEY });
    // Three child nodes start at once, each within the harness's NODE_START_TIMEOUT_MS.
  }, 150_000);

  afterAll(async () => {
    for (const probe of probes) probe.socket.close();
    await cluster?.stop();
  }, 30_000);

  test('the same clients fail: the requests of a session reach nodes that do not know it (400 "Session ID unknown")', async () => {
    const org = uniqueOrg();
    // Kept on long-polling, and kept busy by events until every session failed: each poll is one more
    // draw of the round robin, so no session stays lucky. (A session lucky enough to reach WebSocket
    // would make no further HTTP request and never fail.)
    probes.push(...(await Promise.all(Array.from({ length: 5 }, (_, i) => openProbeClient(cluster.url, org, i, false)))));
    const publisher = await createPublisher({ redisUrl: cluster.redis.url });
    let allFailed = false;
    let published = 0;
    const publishing = (async () => {
      // Bounded: five at a time until every client failed, 5 000 at most.
      while (!allFailed && published < 5000) {
        await Promise.all(Array.from({ length: 5 }, () => publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `lb-${published}`, amountCents: published++ })));
      }
    })();
    try {
      await waitUntil(() => probes.every((p) => p.failure !== undefined), { what: 'every client to fail' }).finally(() => (allFailed = true));
      await publishing;
    } finally {
      await publisher.close();
    }

    expect(probes.every((p) => p.sequence.length < published)).toBe(true);
    expect(probes.map((p) => p.failure)).toEqual(probes.map(() => expect.stringMatching(/connect_error|transport error|transport close/)));
    const rejected = (await cluster.balancer.accessLog()).filter((line) => /[?&]sid=/.test(line) && / 400 /.test(line));
    expect(rejected.length).toBeGreaterThan(0);
  }, 60_000);
});

describe.each<'haproxy' | 'nginx'>(['haproxy', 'nginx'])('the client address a node limits by, through %s', (kind) => {
  // One in-process node (three times over, as the configs name three) trusting one hop, as the
  // shipped compose, Kubernetes and local-cluster settings do, with a handshake limit of 3 per 10 s.
  let node: RoomwireNode;
  let balancer: BalancerHandle;

  beforeAll(async () => {
    node = await createNode(testNodeOptions({ trustProxy: 1, rateLimits: { handshakesPerIpPer10s: 3 } }));
    const address = new URL(node.url).host;
    const nodes = [address, address, address] as const;
    balancer = kind === 'haproxy' ? await startHaproxy({ port: await freePort(), statsPort: await freePort(), nodes }) : await startNginx({ port: await freePort(), nodes });
    await balancer.waitUntilInRotation('node1');
  }, 30_000);

  afterAll(async () => {
    await balancer?.stop();
    await node?.close();
  });

  const through = async (forwardedFor: string): Promise<string> => {
    const result = await handshake(balancer.url, await signToken({ org: uniqueOrg('lb-address'), services: ['billing'] }), { 'X-Forwarded-For': forwardedFor });
    return result === 'connected' ? result : result.code;
  };

  if (kind === 'haproxy') {
    test('entries a client writes itself do not make it a new client: it is the address HAProxy saw', async () => {
      const results: string[] = [];
      for (let i = 1; i <= 5; i++) results.push(await through(`198.51.100.${i}`));
      expect(results).toEqual(['connected', 'connected', 'connected', 'RW_ERR_RATE_LIMITED', 'RW_ERR_RATE_LIMITED']);
    });
  } else {
    test('the address the trusted proxy in front of nginx reported is the client, and what the client wrote before it is not', async () => {
      // Loopback stands in for a cloud load balancer that nginx trusts (RW_TRUSTED_PROXY): its entry is the last one.
      const results: string[] = [];
      for (let i = 1; i <= 4; i++) results.push(await through(`198.51.100.${i}, 203.0.113.1`));
      expect(results).toEqual(['connected', 'connected', 'connected', 'RW_ERR_RATE_LIMITED']);
      expect(await through('203.0.113.2')).toBe('connected');
    });
  }
});
