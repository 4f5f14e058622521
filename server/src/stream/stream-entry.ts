import { EVENTS, type DeliveryFrame, type PlainFrame } from '@roomwire/shared';
import { deflateRawSync } from 'node:zlib';
import { shouldCompress, type FrameCompression } from './frame-codec';

/**
 * Roomwire's stream entries. A durable frame is one entry of its partition's stream, with the fields
 * (in this order) `r` room, `n` event count, `t` publish time of its first event, then either `f`, the
 * frame's JSON, or `z`, the raw DEFLATE of that JSON in base64 (large frames). A node cuts the frame out
 * as a string and sends it as it is: no parse, no re-serialisation on the delivery path. A heartbeat is
 * an entry with the single field `h` (the node that wrote it); it moves idle readers' offsets forward.
 */
export const FIELD = { room: 'r', events: 'n', ts: 't', json: 'f', deflated: 'z', heartbeat: 'h' } as const;

/** The fields of a durable frame for `room`, compressed when large enough. */
export function frameFields(room: string, frame: PlainFrame, compression: FrameCompression): string[] {
  const json = JSON.stringify(frame);
  const first = frame.events[0];
  const head = [FIELD.room, room, FIELD.events, String(frame.events.length), FIELD.ts, String(first ? first.ts : 0)];
  if (!shouldCompress(json, compression)) return [...head, FIELD.json, json];
  return [...head, FIELD.deflated, deflateRawSync(json).toString('base64')];
}

/** A durable frame as read from the stream, kept encoded: parsed or inflated only when needed. */
export interface EncodedFrame {
  rooms: string[];
  /** The plain frame's JSON; `undefined` for a compressed frame. */
  json: string | undefined;
  /** A compressed frame's DEFLATE bytes; `undefined` for a plain one. */
  deflated: Buffer | undefined;
  /** Number of events in the frame. */
  events: number;
  /** Publish time of the frame's first event. */
  firstTs: number;
  /** Bytes the entry's frame takes (for the memory bound of caches). */
  bytes: number;
  /** The frame in its wire form (parsed once, on first use). */
  frame(): DeliveryFrame;
}

/**
 * Reads one entry's flat `[field, value, …]` list: a frame, `'heartbeat'`, or `undefined` for anything
 * this release does not know (skipped, never fatal: a newer writer may add entry kinds).
 */
export function decodeEntry(fields: readonly unknown[]): EncodedFrame | 'heartbeat' | undefined {
  if (fields[0] === FIELD.heartbeat) return 'heartbeat';
  if (fields.length !== 8 || fields[0] !== FIELD.room || fields[2] !== FIELD.events || fields[4] !== FIELD.ts) return undefined;
  const room = fields[1];
  const events = Number(fields[3]);
  const firstTs = Number(fields[5]);
  const kind = fields[6];
  const value = fields[7];
  if (typeof room !== 'string' || typeof value !== 'string' || !Number.isInteger(events) || events < 1 || !Number.isFinite(firstTs)) return undefined;
  if (kind === FIELD.json) {
    let parsed: DeliveryFrame | undefined;
    return {
      rooms: [room],
      json: value,
      deflated: undefined,
      events,
      firstTs,
      bytes: value.length,
      frame: () => (parsed ??= parseFrame(value)),
    };
  }
  if (kind === FIELD.deflated) {
    const bytes = Buffer.from(value, 'base64');
    return { rooms: [room], json: undefined, deflated: bytes, events, firstTs, bytes: bytes.length, frame: () => ({ n: events, z: bytes }) };
  }
  return undefined;
}

function parseFrame(json: string): DeliveryFrame {
  const parsed = JSON.parse(json) as PlainFrame;
  return Array.isArray(parsed?.events) ? parsed : { events: [] };
}

/**
 * The Socket.IO packet(s) of `["rw:event", frame, offset]` on "/", exactly as socket.io-parser would
 * encode them: an EVENT for a plain frame; a BINARY_EVENT with one attachment (the DEFLATE bytes) for a
 * compressed one.
 */
export function encodeEventPacket(frame: EncodedFrame, offset: string): [string] | [string, Buffer] {
  if (frame.json !== undefined) return [`2["${EVENTS.event}",${frame.json},"${offset}"]`];
  return [`51-["${EVENTS.event}",{"n":${frame.events},"z":{"_placeholder":true,"num":0}},"${offset}"]`, frame.deflated as Buffer];
}
