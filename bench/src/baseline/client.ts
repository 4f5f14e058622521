import { io } from 'socket.io-client';
import { roomName } from '../publish/payload';
import type { BenchClient, ClientHooks, ClientTarget } from '../load/bench-client';

/** The envelope the baseline publisher emits (the same shape as Roomwire's). */
interface BaselineEnvelope {
  ts: number;
  data: unknown;
}

/**
 * A plain socket.io-client client, WebSocket only, that joins its room through the handshake query.
 * No deduplication: what the server sends twice, the app sees twice.
 */
export function openBaselineClient(target: ClientTarget, hooks: ClientHooks): BenchClient {
  const socket = io(target.url, {
    transports: ['websocket'],
    query: { room: roomName(target.room) },
    forceNew: true,
    reconnectionDelay: target.reconnect.minDelayMs,
    reconnectionDelayMax: target.reconnect.maxDelayMs,
    randomizationFactor: target.reconnect.jitter,
  });
  let everUp = false;
  socket.on('event', (envelope: BaselineEnvelope) => hooks.onEvent(envelope.ts, envelope.data));
  socket.on('connect', () => {
    hooks.onUp(everUp && socket.recovered);
    everUp = true;
  });
  socket.on('disconnect', () => hooks.onDown());
  return { close: () => socket.disconnect() };
}
