import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { WireCounters } from './load-api';

/** Text messages that carry deliveries: Roomwire's `rw:event` and the baseline's `event` packets. */
const EVENT_PACKET_PREFIXES = ['42["rw:event"', '42["event"'].map((p) => Buffer.from(p));

interface MessageSource {
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
}

/**
 * Meters every WebSocket connection this process opens, the same way for every system, without access
 * to the client objects (`@roomwire/client` does not expose its socket):
 *
 * - bytes: `net.Socket#bytesRead` of each upgraded connection (TCP payload read: WebSocket frames,
 *   compressed or not, plus the 101 response);
 * - messages and event packets: a listener on the `ws` WebSocket that socket.io-client uses. Each
 *   Socket.IO packet over WebSocket is one message, so a Roomwire batch frame counts as one packet.
 *
 * Sockets are found through Node's public `http.client.request.start` diagnostics channel.
 * **Bench-only internal:** the `ws` WebSocket is read from the symbol `ws` stores on its net.Socket
 * (`Symbol('websocket')`); if a `ws` release renames it, bytes are still counted but packets read 0.
 *
 * @returns a function that reads the totals so far
 */
export function installWireMeter(): () => WireCounters {
  const live = new Set<Socket>();
  let closedBytes = 0;
  let messages = 0;
  let eventPackets = 0;

  const onMessage = (data: unknown, isBinary: boolean): void => {
    messages += 1;
    if (isBinary || !Buffer.isBuffer(data)) return;
    for (const prefix of EVENT_PACKET_PREFIXES) {
      if (data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0) {
        eventPackets += 1;
        return;
      }
    }
  };

  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    request.once('upgrade', (_response, socket: Socket) => {
      live.add(socket);
      socket.once('close', () => {
        live.delete(socket);
        closedBytes += socket.bytesRead;
      });
      // `ws` attaches its WebSocket to the socket in its own 'upgrade' listener, which runs after this one.
      setImmediate(() => {
        const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'websocket');
        const ws = key === undefined ? undefined : ((socket as unknown as Record<symbol, unknown>)[key] as MessageSource | undefined);
        ws?.on('message', onMessage);
      });
    });
  });

  return () => {
    let bytes = closedBytes;
    for (const socket of live) bytes += socket.bytesRead;
    return { bytes, messages, eventPackets };
  };
}
