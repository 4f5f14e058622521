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

/**
 * Liveness without per-connection pings: every connection hears from the node at least every
 * `heartbeatMs`, so a client that hears nothing for a few of those knows its node is gone (frozen,
 * partitioned) and reconnects elsewhere, as the Roomwire clients do (`livenessTimeoutMs`).
 *
 * Why not Engine.IO's ping: a ping costs a write to every connection and a pong back, every interval,
 * whether or not the connection is busy; a frozen node noticed within seconds needs a ping every few
 * seconds, which at the usual traffic (a few events per client per second) was a tenth of the node's
 * and the client's CPU (docs/benchmarks.md). Here a connection that got anything since the last sweep
 * (an event, an ack, a watermark) gets nothing more; only a silent one gets an Engine.IO `noop`
 * packet, one byte of payload that every Engine.IO client ignores and nobody answers. Engine.IO's own
 * ping stays on at its usual, slow interval: it is how the node notices clients that vanished.
 *
 * The sweep runs every `heartbeatMs / 2`. A WebSocket counts as silent when its TCP socket's
 * `bytesWritten` did not move since the previous sweep (so the longest silence is `heartbeatMs`); a
 * long-polling connection when a poll was parked at two sweeps in a row (at most 1.5 × `heartbeatMs`).
 * Nothing runs per delivery.
 */
export function startIdleHeartbeats(io: Server, options: { heartbeatMs: number }): { stop(): void; stats: IdleHeartbeatStats } {
  const stats: IdleHeartbeatStats = { sent: 0 };
  /** Bytes written to each WebSocket connection's TCP socket, as of the previous sweep. */
  const written = new WeakMap<object, number>();
  /** Long-polling connections that had a poll parked at the previous sweep. */
  const parked = new WeakSet<object>();
  const engine = io.engine as unknown as { clients: Record<string, EngineConn> };

  const sweep = (): void => {
    // engine.io keeps its connections in a plain object (read afresh: it may be replaced).
    const clients = engine.clients;
    for (const id in clients) {
      const conn = clients[id] as EngineConn;
      if (conn.readyState !== 'open' || conn.upgrading === true) continue;
      const transport = conn.transport;
      if (transport.name === 'websocket') {
        const tcp = transport.socket?._socket;
        const bytes = tcp?.bytesWritten;
        if (tcp === undefined || bytes === undefined) continue;
        if (written.get(conn) !== bytes) {
          written.set(conn, bytes);
          continue;
        }
        conn.sendPacket('noop');
        stats.sent += 1;
        written.set(conn, tcp.bytesWritten ?? bytes);
        continue;
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
    }
  };

  const timer = setInterval(sweep, Math.max(1, Math.floor(options.heartbeatMs / 2)));
  timer.unref();
  return { stop: () => clearInterval(timer), stats };
}
