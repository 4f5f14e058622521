import { EVENTS, isDeliveryFrame, type DeliveryFrame } from '@roomwire/shared';

/**
 * Entries of the streams adapter (`@socket.io/redis-streams-adapter`) are hashes
 * `{ uid, nsp, type, data }`; a broadcast is type 3 with JSON data `{ packet, opts }`. Roomwire writes
 * its frames in that format so that every node's adapter delivers them to its local sockets.
 */
export const BROADCAST_TYPE = '3';
/** Heartbeat type of the cluster adapter: read and ignored by every node. */
export const HEARTBEAT_TYPE = '2';
/** The uid the adapter reserves for emitters; entries with it are not counted as nodes. */
export const EMITTER_UID = 'emitter';
/** Socket.IO packet type of an event. */
const EVENT_PACKET_TYPE = 2;

/** Fields of one stream entry. */
export type StreamFields = Record<string, string>;

/** Encodes a frame for `room` as a broadcast entry of the main namespace. */
export function encodeBroadcast(room: string, frame: DeliveryFrame, volatile: boolean): StreamFields {
  const data = {
    packet: { type: EVENT_PACKET_TYPE, data: [EVENTS.event, frame], nsp: '/' },
    opts: { rooms: [room], except: [], flags: volatile ? { volatile: true } : {} },
  };
  return { uid: EMITTER_UID, nsp: '/', type: BROADCAST_TYPE, data: JSON.stringify(data) };
}

/** Decodes a broadcast entry into a durable Roomwire frame and its rooms; `undefined` for anything else. */
export function decodeDurableFrame(fields: StreamFields): { rooms: string[]; frame: DeliveryFrame } | undefined {
  if (fields.nsp !== '/' || fields.type !== BROADCAST_TYPE || !fields.data?.startsWith('{')) return undefined;
  let message: unknown;
  try {
    message = JSON.parse(fields.data);
  } catch {
    return undefined;
  }
  const { packet, opts } = message as { packet?: { data?: unknown[] }; opts?: { rooms?: unknown; flags?: { volatile?: boolean } } };
  if (!packet || !Array.isArray(packet.data) || packet.data[0] !== EVENTS.event) return undefined;
  if (!opts || !Array.isArray(opts.rooms) || opts.flags?.volatile) return undefined;
  const frame = packet.data[1];
  if (!isDeliveryFrame(frame)) return undefined;
  return { rooms: opts.rooms.filter((r): r is string => typeof r === 'string'), frame };
}

/** Turns the flat `[k1, v1, k2, v2…]` reply of XRANGE into a record. */
export function fieldsFromReply(flat: unknown): StreamFields {
  const fields: StreamFields = {};
  if (!Array.isArray(flat)) return fields;
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
  return fields;
}
