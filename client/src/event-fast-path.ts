import { EVENTS } from '@roomwire/shared';
import { nextTick } from 'engine.io-client';
import type { Socket } from 'socket.io-client';

/** What a Socket.IO text packet of `rw:event` on "/" without an ack id starts with. */
const EVENT_PACKET_PREFIX = `2["${EVENTS.event}",`;
/** The same packet as an Engine.IO message (`4`) in a WebSocket frame's bytes (ASCII, so one byte a character). */
const EVENT_MESSAGE_BYTES: readonly number[] = Array.from(`4${EVENT_PACKET_PREFIX}`, (c) => c.charCodeAt(0));

/** The socket.io-client internals the fast path reads; typed narrowly because they are not public API. */
interface ManagerInternals {
  ondata?: (data: unknown) => void;
  setTimeoutFn?: unknown;
  engine?: EngineInternals;
  on(event: 'open', listener: () => void): unknown;
}
interface EngineInternals {
  readyState: string;
  transport?: { name?: string; ws?: unknown };
  hasListeners(event: string): boolean;
  emitReserved(event: string): void;
  on(event: 'upgrade', listener: (transport: { name?: string; ws?: unknown }) => void): unknown;
}
/** What the fast path needs of a `ws` WebSocket (Node): an EventEmitter of `message` (bytes, isBinary). */
type MessageListener = (this: unknown, data: unknown, isBinary: boolean) => void;
interface NodeWebSocket {
  listeners(event: 'message'): MessageListener[];
  removeListener(event: 'message', listener: MessageListener): unknown;
  on(event: 'message', listener: MessageListener): unknown;
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
 * Order is kept. socket.io-client defers every packet it decodes with Engine.IO's `nextTick` (so that
 * a throwing listener cannot break the decoder). This path hands an event over at once when nothing
 * that arrived before it is still waiting for such a tick, and otherwise defers it with the same
 * function, behind them: an event never overtakes an ack or a notice that arrived before it. Handing
 * over at once is what keeps the parsed event short-lived: a tick object per event is pretenured by
 * V8 and keeps its arguments alive until the next full GC (docs/decisions.md). A listener that throws
 * is reported as uncaught on a later tick, as in socket.io-client, and the connection reads on.
 *
 * In Node, the packet is taken one step earlier still, from the WebSocket's bytes (installWireFastPath).
 * Whatever is not the common case — a packet with an ack id, binary (compressed) frames, anything that
 * fails to parse, a socket not connected (events then wait in socket.io-client's buffer), `onAny`
 * listeners — takes socket.io-client's own path, exactly as before; so does connection-state recovery's bookkeeping (`_lastOffset`), which is
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

  // Order: socket.io-client hands every packet it decodes over a tick later (Engine.IO's `nextTick`).
  // An event is handed over at once only when nothing that arrived before it is still waiting for its
  // tick — neither a packet of socket.io-client's own path nor an event deferred here — else it waits
  // its turn with the same `nextTick`, behind them.
  let waiting = 0;
  const settled = (): void => {
    waiting -= 1;
  };
  const deferred = (args: unknown[]): void => {
    waiting -= 1;
    deliver(args);
  };

  /** Parses a packet's arguments (`["rw:event",frame,offset]`) and hands them over in order; false if it is not JSON of an array. */
  const take = (json: string): boolean => {
    let args: unknown;
    try {
      args = JSON.parse(json);
    } catch {
      return false;
    }
    if (!Array.isArray(args)) return false;
    if (waiting > 0) {
      waiting += 1;
      nextTick(() => deferred(args), manager.setTimeoutFn);
      return true;
    }
    try {
      deliver(args);
    } catch (err) {
      // As when a listener throws in socket.io-client's tick: uncaught, but the connection reads on.
      nextTick(() => rethrow(err), manager.setTimeoutFn);
    }
    return true;
  };

  manager.ondata = function ondata(this: unknown, data: unknown): void {
    if (typeof data === 'string' && data.startsWith(EVENT_PACKET_PREFIX) && take(data.slice(1))) return;
    original.call(this, data);
    // Whatever the decoder deferred (a tick per packet it completed) runs before this.
    waiting += 1;
    nextTick(settled, manager.setTimeoutFn);
  };

  // In Node, one step earlier: the WebSocket's own bytes (see installWireFastPath), on every transport the
  // engine opens or upgrades to.
  if (typeof manager.on === 'function') {
    manager.on('open', () => {
      const engine = manager.engine;
      if (engine === undefined) return;
      if (engine.transport !== undefined) installWireFastPath(engine, engine.transport, take);
      engine.on('upgrade', (transport) => installWireFastPath(engine, transport, take));
    });
  }
  return true;
}

/**
 * In Node (the `ws` package), takes `rw:event` messages straight from the WebSocket: the frame's bytes
 * are checked for the packet's prefix and decoded once, as the JSON of the packet's arguments, skipping
 * `ws`'s MessageEvent, Engine.IO's packet decoding and four emitter dispatches per message (each copying
 * its arguments). What Engine.IO did for such a message is kept: it counts only while the engine is open
 * (or closing), and `heartbeat` is emitted where someone listens. Every other message — and every
 * message while something listens to the engine's `packet` or `message` events — goes to the handler
 * Engine.IO installed, unchanged. In browsers (no `ws`), nothing is installed here.
 */
function installWireFastPath(engine: EngineInternals, transport: { name?: string; ws?: unknown }, take: (json: string) => boolean): void {
  const ws = transport.ws as Partial<NodeWebSocket> | undefined;
  if (transport.name !== 'websocket' || ws === undefined || typeof ws.listeners !== 'function' || typeof ws.removeListener !== 'function' || typeof ws.on !== 'function') return;
  const installed = ws.listeners('message');
  // Engine.IO's `onmessage` handler, and nothing else: anything unexpected keeps the usual path.
  if (installed.length !== 1) return;
  const engineHandler = installed[0] as MessageListener;
  ws.removeListener('message', engineHandler);
  ws.on('message', function onMessage(this: unknown, data: unknown, isBinary: boolean): void {
    if (
      !isBinary &&
      isEventMessage(data) &&
      (engine.readyState === 'open' || engine.readyState === 'closing') &&
      !engine.hasListeners('packet') &&
      !engine.hasListeners('message') &&
      take(data.toString('utf8', 2))
    ) {
      if (engine.hasListeners('heartbeat')) engine.emitReserved('heartbeat');
      return;
    }
    engineHandler.call(this, data, isBinary);
  });
}

const NodeBuffer = (globalThis as { Buffer?: { isBuffer(value: unknown): boolean } }).Buffer;
function isNodeBuffer(data: Uint8Array): data is Buffer {
  return NodeBuffer !== undefined && NodeBuffer.isBuffer(data);
}

function rethrow(err: unknown): never {
  throw err;
}

/** Whether a text frame's bytes start with `4` + `2["rw:event",` (no ack id, namespace "/"). */
function isEventMessage(data: unknown): data is Buffer {
  if (!(data instanceof Uint8Array) || data.length <= EVENT_MESSAGE_BYTES.length || !isNodeBuffer(data)) return false;
  for (let i = 0; i < EVENT_MESSAGE_BYTES.length; i++) if (data[i] !== EVENT_MESSAGE_BYTES[i]) return false;
  return true;
}
