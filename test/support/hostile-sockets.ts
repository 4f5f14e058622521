import { io as ioClient, type Socket } from 'socket.io-client';
import { ERROR_CODES, isValidName, parseServiceRoom, type RwErrorPayload } from '@roomwire/shared';
import type { RoomwireNode } from '@roomwire/server';
import { DEFAULT_WAIT_MS, waitFor } from '../harness';

/** Rooms every socket may be in besides its service rooms: its own id, its org room, and the node's markers. */
/** The node's own marker rooms: `rw:pressured`, and `rw:synced:<partition>` (see `syncedRoom`). */
const MARKER_ROOMS = /^rw:(pressured|synced:\d+)$/;

/** What a handshake came to: connected, refused with a code, or closed without a CONNECT answer. */
export type HandshakeOutcome = 'connected' | RwErrorPayload | 'no answer';

/**
 * Opens a raw Socket.IO connection with any `auth` object (hostile ones included) and reports the
 * outcome. A handshake the node never answers within `timeoutMs` is reported as `'no answer'`.
 */
export async function handshakeWith(url: string, auth: Record<string, unknown> | undefined, timeoutMs = DEFAULT_WAIT_MS): Promise<HandshakeOutcome> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, ...(auth ? { auth } : {}) });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<HandshakeOutcome>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, 'no answer');
      socket.once('connect', () => resolve('connected'));
      socket.once('connect_error', (err: Error & { data?: RwErrorPayload }) =>
        resolve(err.data ?? { code: 'RW_ERR_INTERNAL', message: `connect_error without data: ${err.message}` }),
      );
    });
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}

/** Opens a connected Socket.IO socket with `{ token, v: 1 }`; the caller closes it. */
export async function connectedSocket(url: string, token: string): Promise<Socket> {
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, auth: { token, v: 1 } });
  await waitFor(socket, 'connect', DEFAULT_WAIT_MS, 'a connected socket');
  return socket;
}

/** A request's ack as the wire carries it (`ok: true` acks keep their other fields). */
export type AnyAck = { ok: true; services: string[]; [key: string]: unknown } | { ok: false; error: RwErrorPayload };

/** Sends a request and resolves with its ack; rejects after `timeoutMs` if none comes. */
export function request(socket: Socket, event: string, body: unknown, timeoutMs = DEFAULT_WAIT_MS): Promise<AnyAck> {
  return socket.timeout(timeoutMs).emitWithAck(event, body) as Promise<AnyAck>;
}

/** The service rooms the node has `socketId` in, sorted. */
export function serviceRoomsOf(node: RoomwireNode, socketId: string): string[] {
  const socket = node.io.of('/').sockets.get(socketId);
  if (!socket) throw new Error(`no socket ${socketId} on ${node.nodeId}`);
  return [...socket.rooms].filter((room) => parseServiceRoom(room) !== undefined).sort();
}

/** Every room of the node's adapter whose name is not one the node itself would make. */
export function foreignRooms(node: RoomwireNode, catalogServices: readonly string[]): string[] {
  const sockets = node.io.of('/').sockets;
  const known = new Set(catalogServices);
  return [...node.io.of('/').adapter.rooms.keys()].filter((room) => {
    if (sockets.has(room) || MARKER_ROOMS.test(room)) return false;
    const service = parseServiceRoom(room);
    if (service) return !known.has(service.service);
    const parts = room.split(':');
    return !(parts.length === 2 && parts[0] === 'org' && isValidName(parts[1]));
  });
}

/** Why: an error a client sees must be one of the catalogued codes, never an ad-hoc string. */
export function isDocumentedCode(code: unknown): boolean {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same hostile inputs, so a failure
 * reproduces with `HOSTILE_SEED=<seed>`.
 */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T,
    chance: (p: number) => next() < p,
  };
}

/** A seeded random source. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}
