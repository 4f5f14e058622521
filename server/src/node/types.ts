import type { ClientToServerEvents, ServerToClientEvents } from '@roomwire/shared';
import type { Server, Socket } from 'socket.io';
import type { SocketState } from './socket-state';

/** Events between nodes; Roomwire sends none over Socket.IO. */
export type InterServerEvents = Record<string, never>;

/** The node's typed Socket.IO server. */
export type RoomwireServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketState>;
/** One typed server-side socket. */
export type RoomwireSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketState>;
