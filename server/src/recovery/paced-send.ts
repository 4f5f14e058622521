import { EVENTS, type DeliveryFrame } from '@roomwire/shared';
import type { Socket } from 'socket.io';
import { dropConnection, queuedBytes } from '../delivery/queued-bytes';
import { sendToSocket } from '../delivery/send-to-socket';

/** Flow control of a replay. */
export interface Pacing {
  /** Sending pauses while more than this is queued towards the socket. */
  maxQueuedBytes: number;
  /** A socket that takes nothing for this long is dropped (it reconnects and tries again). */
  stallTimeoutMs: number;
}

/**
 * Sends replayed frames in order without letting the socket's queue pass `maxQueuedBytes`: a replay
 * bigger than the slow-consumer budget would otherwise get its socket evicted, reconnect, and replay
 * again. Resolves false if the socket went away (or stalled and was dropped) before the end.
 */
export async function sendPaced(socket: Socket, frames: { offset: string; frame: DeliveryFrame }[], pacing: Pacing): Promise<boolean> {
  for (const { offset, frame } of frames) {
    if (socket.disconnected) return false;
    sendToSocket(socket, EVENTS.event, frame, offset);
    let waitedMs = 0;
    while (queuedBytes(socket) > pacing.maxQueuedBytes) {
      if (socket.disconnected) return false;
      if (waitedMs >= pacing.stallTimeoutMs) {
        dropConnection(socket);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
      waitedMs += 10;
    }
  }
  return !socket.disconnected;
}
