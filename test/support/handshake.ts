import { io as ioClient } from 'socket.io-client';
import type { RwErrorPayload } from '@roomwire/shared';
import { waitFor } from '../harness';

/** Opens a raw Socket.IO connection and reports whether the handshake was accepted or why not. */
export async function handshake(url: string, token: string, headers: Record<string, string> = {}): Promise<'connected' | RwErrorPayload> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, auth: { token, v: 1 }, extraHeaders: headers });
  try {
    return await Promise.race([
      waitFor(socket, 'connect', 5000, 'connect').then(() => 'connected' as const),
      waitFor<Error & { data: RwErrorPayload }>(socket, 'connect_error', 5000, 'connect_error').then((err) => err.data),
    ]);
  } finally {
    socket.close();
  }
}
