import { createClient, type ConnectionState, type RoomwireClient } from '@roomwire/client';
import { startTcpProxy, waitUntil, type TcpProxy } from '../../test/harness';
import { signToken } from '../../test/support/tokens';

/** What one client's app saw: when each sequence number arrived, duplicates, order, resync signals. */
export interface Receiver {
  readonly index: number;
  /** The org of the client's token (it gets only that org's events). */
  readonly org: string;
  readonly client: RoomwireClient;
  /** The client's own network path (a TCP proxy to the balancer) when its network can be cut. */
  readonly proxy: TcpProxy | undefined;
  /** `arrivals[seq]`: when the app got event `seq` (ms since the Unix epoch), 0 if never. */
  arrivals: Float64Array;
  /** Events handed to the app more than once. */
  duplicates: number;
  /** Events handed to the app after a later one. */
  outOfOrder: number;
  /** Highest sequence number handed to the app so far, -1 before the first. */
  highest: number;
  /** When each resync signal (`onResync`) arrived. */
  resyncs: number[];
  /** Probe events (sequence numbers from {@link PROBE_BASE}) handed to the app. */
  probes: Set<number>;
  /** Network cuts of this client: [start, end] in ms since the Unix epoch. */
  cuts: [number, number][];
  /** Every change of the client's connection state, and when (ms since the Unix epoch). */
  states: { to: ConnectionState; at: number }[];
}

/** Sequence numbers from here on are probes published outside the steady load (e.g. over HTTP). */
export const PROBE_BASE = 1_000_000_000;

/** The clients of one scenario. */
export interface Fleet {
  readonly receivers: readonly Receiver[];
  /** Resolves once every client is connected (and subscribed). */
  connected(timeoutMs: number): Promise<void>;
  /** Client states, counted: `{ connected: 298, reconnecting: 2 }`. */
  states(): Record<string, number>;
  close(): Promise<void>;
}

/** Options of {@link startFleet}. */
export interface FleetOptions {
  /** The balancer's URL. */
  url: string;
  /** Orgs of the clients, in turn: client `i` is of `orgs[i % orgs.length]`. */
  orgs: readonly string[];
  clients: number;
  /** Indexes of the clients that connect through a TCP proxy of their own (so their network can be cut). */
  cuttable?: (index: number) => boolean;
}

function grow(array: Float64Array, index: number): Float64Array {
  if (index < array.length) return array;
  const next = new Float64Array(Math.max(array.length * 2, index + 1));
  next.set(array);
  return next;
}

/**
 * Starts `clients` real Roomwire clients (WebSocket, as in production behind HAProxy), subscribed to
 * `billing` of their org (the orgs in turn); each records, at the app level, what it receives. Payloads carry the publisher's
 * sequence number in `amountCents`.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const receivers: Receiver[] = [];
  const proxies: TcpProxy[] = [];
  const balancerPort = Number(new URL(options.url).port);
  if (options.orgs.length === 0) throw new TypeError('startFleet: at least one org');
  for (let index = 0; index < options.clients; index++) {
    const org = options.orgs[index % options.orgs.length] as string;
    const proxy = options.cuttable?.(index) ? await startTcpProxy(balancerPort) : undefined;
    if (proxy) proxies.push(proxy);
    const client = createClient({
      url: proxy ? proxy.url : options.url,
      token: () => signToken({ org, services: ['billing'] }),
      services: ['billing'],
      // WebSocket-only: Node clients hold no HAProxy stickiness cookie (see infra/README.md).
      transports: ['websocket'],
      minReconnectDelayMs: 200,
      maxReconnectDelayMs: 2000,
    });
    const receiver: Receiver = {
      index,
      org,
      client,
      proxy,
      arrivals: new Float64Array(1024),
      duplicates: 0,
      outOfOrder: 0,
      highest: -1,
      resyncs: [],
      probes: new Set(),
      cuts: [],
      states: [],
    };
    client.onState(({ to }) => receiver.states.push({ to, at: Date.now() }));
    client.on('billing', 'invoice.paid', ({ amountCents: seq }) => {
      if (seq >= PROBE_BASE) {
        receiver.probes.add(seq);
        return;
      }
      receiver.arrivals = grow(receiver.arrivals, seq);
      if (receiver.arrivals[seq] !== 0) {
        receiver.duplicates += 1;
        return;
      }
      receiver.arrivals[seq] = Date.now();
      if (seq < receiver.highest) receiver.outOfOrder += 1;
      receiver.highest = Math.max(receiver.highest, seq);
    });
    client.onResync(() => receiver.resyncs.push(Date.now()));
    receivers.push(receiver);
  }
  const states = (): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const r of receivers) counts[r.client.state] = (counts[r.client.state] ?? 0) + 1;
    return counts;
  };
  return {
    receivers,
    states,
    connected: (timeoutMs) =>
      waitUntil(() => receivers.every((r) => r.client.state === 'connected'), { what: `${receivers.length} clients connected`, timeoutMs }).catch(
        (err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(states())}`);
        },
      ),
    async close() {
      for (const r of receivers) r.client.close();
      await Promise.all(proxies.map((p) => p.close()));
    },
  };
}
