import { io as ioClient } from 'socket.io-client';
import type { RwErrorPayload } from '@roomwire/shared';
import { DEFAULT_WAIT_MS } from '../harness';

/** Opens a raw Socket.IO connection and reports whether the handshake was accepted or why not. */
export async function handshake(url: string, token: string, headers: Record<string, string> = {}): Promise<'connected' | RwErrorPayload> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, auth: { token, v: 1 }, extraHeaders: headers });
  let timer: NodeJS.Timeout | undefined;
  try {
    // One timer for both outcomes, cleared on either: a race of two waits would leave the loser's
    // timer running after the test (and keep a jest worker from exiting).
    return await new Promise<'connected' | RwErrorPayload>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${DEFAULT_WAIT_MS}ms waiting for an answer to the handshake`)), DEFAULT_WAIT_MS);
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (err: Error & { data?: RwErrorPayload }) => resolve(err.data ?? { code: 'RW_ERR_INTERNAL', message: `connect_error without data: ${err.message}` }));
    });
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}
