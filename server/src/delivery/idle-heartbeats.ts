import type { Server } from 'socket.io';

/** The engine.io connection internals read here; typed narrowly because they are not public API. */
interface EngineConn {
  readyState: string;
  upgrading?: boolean;
  transport: {
    name: string;
    /** Polling: a GET is parked, waiting for something to send. */
    writable?: boolean;
    socket?: { _socket?: { bytesWritten?: number } };
  };
  sendPacket(type: 'noop'): void;
}

/** What {@link startIdleHeartbeats} counts. */
export interface IdleHeartbeatStats {
  /** Heartbeats sent so far. */
  sent: number;
}

/** How often a slice of the connections is visited, in ms: each visit's writes are a small batch. */
const TICK_MS = 50;

/**
 * Liveness without per-connection pings: every connection hears from the node at least every
 * `heartbeatMs`, so a client that hears nothing for a few of those knows its node is gone (frozen,
 * partitioned) and reconnects elsewhere, as the Roomwire clients do (`livenessTimeoutMs`).
 *
 * Why not Engine.IO's ping: a ping costs a write to every connection and a pong back, every interval,
 * whether or not the connection is busy; a frozen node noticed within seconds needs a ping every few
 * seconds, which at the usual traffic (a few events per client per second) was a tenth of the node's
 * and the client's CPU (docs/benchmarks.md). Here a connection that got anything since the last visit
 * (an event, an ack, a watermark) gets nothing more; only a silent one gets an Engine.IO `noop`
 * packet, one byte of payload that every Engine.IO client ignores and nobody answers. Engine.IO's own
 * ping stays on at its usual, slow interval: it is how the node notices clients that vanished.
 *
 * Every connection is visited once per `heartbeatMs / 2`, a slice of them every 50 ms (visiting all at
 * once would write to every idle connection in one go and hold up the events behind it). A WebSocket
 * counts as silent when its TCP socket's `bytesWritten` did not move since the previous visit (so the
 * longest silence is `heartbeatMs`, plus a tick); a long-polling connection when a poll was parked at
 * two visits in a row (at most 1.5 × `heartbeatMs`). Nothing runs per delivery.
 */
export function startIdleHeartbeats(io: Server, options: { heartbeatMs: number }): { stop(): void; stats: IdleHeartbeatStats } {
  const stats: IdleHeartbeatStats = { sent: 0 };
  /** Bytes written to each WebSocket connection's TCP socket, as of the previous visit. */
  const written = new WeakMap<object, number>();
  /** Long-polling connections that had a poll parked at the previous visit. */
  const parked = new WeakSet<object>();
  /** Every open connection, in the order they came (a Set's iterator survives deletions and additions). */
  const conns = new Set<EngineConn>();
  type Closable = EngineConn & { once(event: 'close', listener: () => void): void };
  const engine = io.engine as unknown as { clients: Record<string, Closable>; on(event: 'connection', listener: (conn: Closable) => void): void };
  const track = (conn: Closable): void => {
    conns.add(conn);
    conn.once('close', () => conns.delete(conn));
  };
  // Connections already open (none when the node starts it) are tracked like new ones, or they would never leave the set.
  for (const id in engine.clients) track(engine.clients[id] as Closable);
  engine.on('connection', track);
  const periodMs = Math.max(TICK_MS, Math.floor(options.heartbeatMs / 2));
  const ticksPerPeriod = Math.max(1, Math.floor(periodMs / TICK_MS));

  const visit = (conn: EngineConn): void => {
    if (conn.readyState !== 'open' || conn.upgrading === true) return;
    const transport = conn.transport;
    if (transport.name === 'websocket') {
      const tcp = transport.socket?._socket;
      const bytes = tcp?.bytesWritten;
      if (tcp === undefined || bytes === undefined) return;
      if (written.get(conn) !== bytes) {
        written.set(conn, bytes);
        return;
      }
      conn.sendPacket('noop');
      stats.sent += 1;
      written.set(conn, tcp.bytesWritten ?? bytes);
      return;
    }
    if (transport.writable !== true) {
      parked.delete(conn);
    } else if (parked.has(conn)) {
      parked.delete(conn);
      conn.sendPacket('noop');
      stats.sent += 1;
    } else {
      parked.add(conn);
    }
  };

  let cursor: Iterator<EngineConn> = conns.values();
  let leftThisPeriod = 0;
  let tick = 0;
  const step = (): void => {
    // A period starts: every connection there is now gets its visit within it.
    if (tick % ticksPerPeriod === 0) {
      cursor = conns.values();
      leftThisPeriod = conns.size;
    }
    const ticksLeft = ticksPerPeriod - (tick % ticksPerPeriod);
    let quota = Math.ceil(leftThisPeriod / ticksLeft);
    leftThisPeriod -= quota;
    tick += 1;
    while (quota > 0) {
      const next = cursor.next();
      if (next.done === true) break;
      visit(next.value);
      quota -= 1;
    }
  };

  const timer = setInterval(step, TICK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer), stats };
}
