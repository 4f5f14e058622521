import type { ServerToClientEvents } from '@roomwire/shared';
import type { Socket } from 'socket.io';

type Args<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>;

/**
 * Sends an event to one socket, at once and from this node only. Why not `socket.emit`: with
 * connection-state recovery on, Socket.IO routes `socket.emit` through the adapter's broadcast, and the
 * streams adapter first writes the packet into the Redis stream and sends it only after that round
 * trip. Replayed frames would be stored a second time, live frames could overtake them, and an ack
 * could overtake the replay it concludes.
 */
export function sendToSocket<E extends keyof ServerToClientEvents>(socket: Socket, event: E, ...args: Args<E>): void {
  (socket.nsp.local.to(socket.id).emit as (ev: string, ...a: unknown[]) => boolean)(event, ...args);
}
