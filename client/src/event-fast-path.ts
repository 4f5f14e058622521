import { EVENTS } from '@roomwire/shared';
import { nextTick } from 'engine.io-client';
import type { Socket } from 'socket.io-client';

/** What a Socket.IO text packet of `rw:event` on "/" without an ack id starts with. */
const EVENT_PACKET_PREFIX = `2["${EVENTS.event}",`;

/** The socket.io-client internals the fast path reads; typed narrowly because they are not public API. */
interface ManagerInternals {
  ondata?: (data: unknown) => void;
  setTimeoutFn?: unknown;
}
interface SocketInternals {
  nsp: string;
  connected: boolean;
  _pid?: string;
  _lastOffset?: string;
  _anyListeners?: unknown[];
  onpacket(packet: { type: number; nsp: string; data: unknown[] }): void;
}

/** Socket.IO's EVENT packet type. */
const EVENT = 2;

/**
 * Takes `rw:event` packets — nearly everything a client receives — past socket.io-client's generic
 * path: the packet's JSON is parsed once and `onEvent` is called, skipping socket.io-parser's packet
 * scan and checks, two emitter dispatches (each copying its listener list and arguments) and the
 * socket's event plumbing, about a fifth of a client's CPU per event (docs/benchmarks.md).
 *
 * Order is kept: socket.io-client defers every decoded packet with Engine.IO's `nextTick` (so that a
 * throwing listener cannot break the decoder), and so does this path, with the same function, so an
 * event never overtakes an ack or a notice that arrived before it. Whatever is not the common case —
 * a packet with an ack id, binary (compressed) frames, anything that fails to parse, a socket not
 * connected (events then wait in socket.io-client's buffer), `onAny` listeners — takes socket.io-client's
 * own path, exactly as before; so does connection-state recovery's bookkeeping (`_lastOffset`), which is
 * kept here as socket.io-client keeps it.
 *
 * Returns false (and changes nothing) when the Manager does not have the shape this relies on.
 */
export function installEventFastPath(socket: Socket, onEvent: (frame: unknown, offset: unknown) => void): boolean {
  const manager = socket.io as unknown as ManagerInternals;
  const original = manager.ondata;
  const s = socket as unknown as SocketInternals;
  if (typeof original !== 'function' || typeof s.onpacket !== 'function' || s.nsp !== '/') return false;

  const deliver = (args: unknown[]): void => {
    if (!s.connected || (s._anyListeners !== undefined && s._anyListeners.length > 0)) {
      s.onpacket({ type: EVENT, nsp: '/', data: args });
      return;
    }
    onEvent(args[1], args[2]);
    // As socket.io-client's own `emitEvent` does: the last argument, when a string, is its recovery offset.
    const last = args[args.length - 1];
    if (s._pid !== undefined && typeof last === 'string') s._lastOffset = last;
  };

  manager.ondata = function ondata(this: unknown, data: unknown): void {
    if (typeof data === 'string' && data.startsWith(EVENT_PACKET_PREFIX)) {
      let args: unknown;
      try {
        args = JSON.parse(data.slice(1));
      } catch {
        args = undefined;
      }
      if (Array.isArray(args)) {
        nextTick(() => deliver(args as unknown[]), manager.setTimeoutFn);
        return;
      }
    }
    original.call(this, data);
  };
  return true;
}
