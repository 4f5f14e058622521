import { EVENTS, isDeliveryFrame, type DeliveryFrame, type PlainFrame } from '@roomwire/shared';
import { storedFrameJson, wireFrameFromStored, type FrameCompression } from './frame-codec';

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

/**
 * The part of a Roomwire entry's data just before the frame's JSON. Entries are laid out so that a node
 * can cut the frame out as a string and send it without parsing and re-serialising it:
 * `{"opts":…,"rw":{"n":…,"ts":…},"packet":{"type":2,"nsp":"/","data":["rw:event",FRAME]}}` — still
 * plain JSON in the adapter's format, so any adapter can read it the slow way.
 */
const FRAME_MARKER = `,"packet":{"type":${EVENT_PACKET_TYPE},"nsp":"/","data":["${EVENTS.event}",`;
const FRAME_END = ']}}';

/** Encodes a durable frame for `room` as a broadcast entry of the main namespace (compressed when large). */
export function encodeBroadcast(room: string, frame: PlainFrame, compression: FrameCompression): StreamFields {
  const opts = JSON.stringify({ rooms: [room], except: [], flags: {} });
  const first = frame.events[0];
  const header = `{"opts":${opts},"rw":{"n":${frame.events.length},"ts":${first ? first.ts : 0}}`;
  return { uid: EMITTER_UID, nsp: '/', type: BROADCAST_TYPE, data: header + FRAME_MARKER + storedFrameJson(frame, compression) + FRAME_END };
}

/** A durable frame as read from the stream: its JSON kept as a string, parsed only when needed. */
export interface EncodedFrame {
  rooms: string[];
  /** The frame's JSON, exactly as stored (compressed frames carry their bytes in base64). */
  json: string;
  /** Number of events in the frame. */
  events: number;
  /** Publish time of the frame's first event. */
  firstTs: number;
  /** The frame in its wire form (parsed once, on first use). */
  frame(): DeliveryFrame;
}

/** Cuts a Roomwire entry into its rooms and its frame's JSON; `undefined` for any other entry. */
export function splitBroadcast(fields: StreamFields): EncodedFrame | undefined {
  const data = fields.data;
  if (fields.uid !== EMITTER_UID || fields.type !== BROADCAST_TYPE || data === undefined || !data.endsWith(FRAME_END)) return undefined;
  const at = data.indexOf(FRAME_MARKER);
  if (at < 0 || !data.startsWith('{"opts":')) return undefined;
  let head: { opts?: { rooms?: unknown; flags?: { volatile?: boolean } }; rw?: { n?: unknown; ts?: unknown } };
  try {
    head = JSON.parse(`${data.slice(0, at)}}`) as typeof head;
  } catch {
    return undefined;
  }
  const rooms = head.opts?.rooms;
  if (!Array.isArray(rooms) || !rooms.every((r) => typeof r === 'string') || head.opts?.flags?.volatile) return undefined;
  if (typeof head.rw?.n !== 'number' || typeof head.rw.ts !== 'number') return undefined;
  const json = data.slice(at + FRAME_MARKER.length, data.length - FRAME_END.length);
  let parsed: DeliveryFrame | undefined;
  return {
    rooms: rooms as string[],
    json,
    events: head.rw.n,
    firstTs: head.rw.ts,
    frame() {
      parsed ??= wireFrameFromStored(JSON.parse(json)) ?? { events: [] };
      return parsed;
    },
  };
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
  const frame = wireFrameFromStored(packet.data[1]);
  if (frame === undefined || !isDeliveryFrame(frame)) return undefined;
  return { rooms: opts.rooms.filter((r): r is string => typeof r === 'string'), frame };
}

/** Turns the flat `[k1, v1, k2, v2…]` reply of XRANGE into a record. */
export function fieldsFromReply(flat: unknown): StreamFields {
  const fields: StreamFields = {};
  if (!Array.isArray(flat)) return fields;
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
  return fields;
}
