import type { Logger } from 'pino';
import { EVENTS } from '@roomwire/shared';
import { dropConnection, queuedBytes } from './queued-bytes';
import { sendToSocket } from './send-to-socket';
import type { RoomwireServer, RoomwireSocket } from '../node/types';

/** Sockets above the soft limit: volatile events skip this room. */
export const PRESSURED_ROOM = 'rw:pressured';

/** Options of {@link startSlowConsumerGuard}. */
export interface SlowConsumerOptions {
  /** Byte budget of what may be queued towards one socket. */
  maxBufferedBytes: number;
  /** Above this share of the budget, a socket's volatile events are skipped. */
  softLimitRatio: number;
  /** How long a socket may stay above the budget before it is evicted, in ms. */
  slowConsumerGraceMs: number;
  /** How often queues are measured while any socket has a queue worth watching, in ms. */
  sweepIntervalMs: number;
  /**
   * How often queues are measured while every queue is short (under a quarter of the soft limit), in
   * ms. @default sweepIntervalMs
   */
  calmSweepIntervalMs?: number;
  logger: Logger;
  /** Called on each eviction (for metrics). */
  onEvict?(socket: RoomwireSocket, bytes: number): void;
}

/** What the guard counts. */
export interface SlowConsumerStats {
  /** Sockets evicted so far. */
  evictions: number;
  /** Sockets above the soft limit at the last sweep. */
  pressured: number;
  /** Most bytes queued towards a socket when it was evicted. */
  maxEvictedQueuedBytes: number;
}

/** Above the budget for longer than the grace, or far above it at any moment. */
const HARD_MULTIPLE = 2;

/**
 * Keeps what a node queues towards each socket bounded. Above the soft limit a socket stops getting
 * volatile events; above the budget for longer than the grace (or above twice the budget at once) it
 * is evicted with a recoverable close: its client reconnects and recovers every durable event from the
 * stream. Other sockets never wait on it.
 */
export function startSlowConsumerGuard(io: RoomwireServer, options: SlowConsumerOptions): { stop(): void; stats: SlowConsumerStats } {
  const overSince = new Map<string, number>();
  const stats: SlowConsumerStats = { evictions: 0, pressured: 0, maxEvictedQueuedBytes: 0 };
  const soft = options.maxBufferedBytes * options.softLimitRatio;
  /** A queue above this keeps the sweep at its fast pace. */
  const watch = soft / 4;
  const calmMs = options.calmSweepIntervalMs ?? options.sweepIntervalMs;

  // Every socket is measured on every sweep, so the common case (nothing queued, not pressured, never
  // over) allocates nothing and costs a read of two queue lengths and at most one Set lookup. Sweeps are
  // fast (`sweepIntervalMs`) while any queue is worth watching, and slower while all are short: a queue
  // grows from a quarter of the soft limit past the budget only at a rate no client of a realtime feed
  // gets, and the fixed cost of sweeping every socket 20 times a second was a sixth of an idle node's CPU.
  // Returns whether the next sweep should come soon.
  const sweep = (): boolean => {
    const now = Date.now();
    let pressured = 0;
    let watched = false;
    const nsp = io.of('/');
    // The room itself is the truth (a restored session may bring a socket back into it); it is
    // created and deleted as sockets join and leave, so it is read again after each change.
    let pressuredRoom = nsp.adapter.rooms.get(PRESSURED_ROOM);
    for (const socket of nsp.sockets.values()) {
      const bytes = queuedBytes(socket);
      if (bytes > watch) watched = true;
      const inPressured = pressuredRoom !== undefined && pressuredRoom.has(socket.id);
      if (bytes > soft) {
        pressured += 1;
        if (!inPressured) {
          socket.join(PRESSURED_ROOM);
          pressuredRoom = nsp.adapter.rooms.get(PRESSURED_ROOM);
        }
      } else if (inPressured) {
        socket.leave(PRESSURED_ROOM);
        pressuredRoom = nsp.adapter.rooms.get(PRESSURED_ROOM);
      }
      if (bytes <= options.maxBufferedBytes) {
        if (overSince.size > 0) overSince.delete(socket.id);
        continue;
      }
      const since = overSince.get(socket.id) ?? now;
      overSince.set(socket.id, since);
      if (isSlowConsumer(bytes, now - since, options)) {
        overSince.delete(socket.id);
        stats.evictions += 1;
        stats.maxEvictedQueuedBytes = Math.max(stats.maxEvictedQueuedBytes, bytes);
        options.logger.warn({ connId: socket.data.connId, queuedBytes: bytes, overForMs: now - since }, 'slow consumer evicted; it will recover on reconnect');
        options.onEvict?.(socket, bytes);
        // Kept in the session: the client is told why once it is back.
        socket.data.evicted = 'RW_ERR_SLOW_CONSUMER';
        dropConnection(socket);
      }
    }
    stats.pressured = pressured;
    for (const id of overSince.keys()) if (!nsp.sockets.has(id)) overSince.delete(id);
    return watched || pressured > 0 || overSince.size > 0;
  };

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (ms: number): void => {
    timer = setTimeout(() => {
      if (stopped) return;
      schedule(sweep() ? options.sweepIntervalMs : calmMs);
    }, ms);
    timer.unref();
  };
  schedule(options.sweepIntervalMs);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    stats,
  };
}

/** Why: a socket over budget for longer than the grace cannot keep up; far over it, memory is at stake now. */
export function isSlowConsumer(bytes: number, overForMs: number, options: Pick<SlowConsumerOptions, 'maxBufferedBytes' | 'slowConsumerGraceMs'>): boolean {
  return bytes > options.maxBufferedBytes && (overForMs >= options.slowConsumerGraceMs || bytes > HARD_MULTIPLE * options.maxBufferedBytes);
}

/** Tells a client restored after an eviction why it was closed. */
export function noticeEviction(socket: RoomwireSocket): void {
  const code = socket.data.evicted;
  if (code === undefined) return;
  delete socket.data.evicted;
  sendToSocket(socket, EVENTS.error, { code, message: 'the connection was closed because it could not keep up; missed events were recovered' });
}
