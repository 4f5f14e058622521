import type { Namespace, Socket } from 'socket.io';
import { WebSocket } from 'ws';
import type { CorkedWrites } from './corked-writes';

/** The engine.io and ws internals the direct path reads; typed narrowly because they are not public API. */
interface EngineConn {
  readyState: string;
  writeBuffer: unknown[];
  upgrading?: boolean;
  transport: {
    name: string;
    perMessageDeflate?: unknown;
    socket?: {
      readyState: number;
      _sender?: { sendFrame(list: Buffer[], cb?: (err?: Error) => void): void };
      _socket?: { writableCorked: number; cork(): void; uncork(): void };
    };
  };
}

/** Socket.IO's per-connection client: `writeToEngine` is what its own broadcasts call for each socket. */
interface EngineClient {
  writeToEngine(packets: (string | Buffer)[], options: { preEncoded: boolean }): void;
}

/** A `rw:event` encoded once for every socket of a room (see {@link encodeForBroadcast}). */
export interface BroadcastPackets {
  /** The Socket.IO packet(s), as `socket.client.writeToEngine` takes them. */
  packets: [string] | [string, Buffer];
  /** Whether idle WebSockets get the frame bytes written directly (see {@link sendEncoded}). */
  direct: boolean;
  /** The same packet(s) as complete WebSocket frames, built on first use (the list `sendFrame` takes, shared by every socket). */
  wsFrames: [Buffer] | undefined;
}

const WS_OPCODE_TEXT = 1;
const WS_OPCODE_BINARY = 2;

/** Wraps Socket.IO packets once: each socket's send then costs one write of shared bytes. */
export function encodeForBroadcast(packets: [string] | [string, Buffer], direct = true): BroadcastPackets {
  return { packets, direct, wsFrames: undefined };
}

/**
 * Sends a pre-encoded packet to every socket of `room` but those in `except`; returns how many got it.
 *
 * Why not `io.to(room).emit()`: Socket.IO's broadcast builds a set of socket ids, then for each socket
 * creates an engine.io packet object, emits four events and queues it, and ws frames it again. Here a
 * socket on an idle WebSocket gets the frame bytes written straight to its connection, the same bytes for
 * every socket, built once. A socket whose transport is busy (engine.io has packets queued), polling, or
 * mid-upgrade takes engine.io's own path, so the order of everything sent to it is kept. What a socket
 * has queued is measured the same way either way (the slow-consumer guard reads ws's buffered amount).
 */
export function broadcastToRoom(
  nsp: Namespace,
  room: string,
  encoded: BroadcastPackets,
  except: ReadonlySet<string> | undefined,
  coalesce?: CorkedWrites,
): number {
  const members = nsp.adapter.rooms.get(room);
  if (members === undefined) return 0;
  let sent = 0;
  for (const id of members) {
    if (except !== undefined && except.has(id)) continue;
    const socket = nsp.sockets.get(id);
    if (socket === undefined) continue;
    sendEncoded(socket, encoded, coalesce);
    sent += 1;
  }
  return sent;
}

/**
 * Sends a pre-encoded packet to one socket, directly when its WebSocket is idle (see {@link broadcastToRoom}).
 * With `coalesce`, the TCP socket is corked until the end of the current read: every frame it gets
 * from that read leaves in one write (see {@link CorkedWrites}).
 */
export function sendEncoded(socket: Socket, encoded: BroadcastPackets, coalesce?: CorkedWrites): void {
  const conn = socket.conn as unknown as EngineConn;
  const transport = conn.transport;
  const ws = transport.socket;
  if (
    encoded.direct &&
    conn.readyState === 'open' &&
    conn.writeBuffer.length === 0 &&
    transport.name === 'websocket' &&
    !transport.perMessageDeflate &&
    ws !== undefined &&
    ws.readyState === WebSocket.OPEN &&
    ws._sender !== undefined
  ) {
    if (coalesce !== undefined && ws._socket !== undefined && ws._socket.writableCorked === 0) coalesce.cork(ws._socket);
    ws._sender.sendFrame((encoded.wsFrames ??= [wsFramesOf(encoded.packets)]));
    return;
  }
  (socket.client as unknown as EngineClient).writeToEngine(encoded.packets, { preEncoded: true });
}

/** The packets as WebSocket frames: engine.io's `4` (message) before text, binary attachments as they are. */
function wsFramesOf(packets: [string] | [string, Buffer]): Buffer {
  const [text, binary] = packets;
  const frames = frameParts(Buffer.from(`4${text}`), WS_OPCODE_TEXT);
  if (binary !== undefined) frames.push(...frameParts(binary, WS_OPCODE_BINARY));
  return Buffer.concat(frames);
}

/** A server-to-client (unmasked, final, uncompressed) WebSocket frame, as ws's `Sender.frame` builds it. */
function frameParts(data: Buffer, opcode: number): Buffer[] {
  const { Sender } = WebSocket as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
  return Sender.frame(data, { readOnly: false, mask: false, rsv1: false, opcode, fin: true });
}
