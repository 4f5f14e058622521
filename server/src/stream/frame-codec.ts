import { deflateRawSync } from 'node:zlib';
import type { CompressedFrame, DeliveryFrame, PlainFrame } from '@roomwire/shared';

/**
 * Large frames are compressed once, where they are published, instead of once per socket (which is
 * what permessage-deflate does): every node then forwards the same bytes to all its sockets.
 */
export interface FrameCompression {
  /** Frames whose JSON has at least this many bytes are compressed; 0 turns compression off. */
  minBytes: number;
}

/** How a compressed frame is stored in the stream: JSON with the DEFLATE bytes in base64. */
const STORED_COMPRESSED = /^\{"n":(\d+),"z":"([A-Za-z0-9+/]*={0,2})"\}$/;

/** Why: below the threshold, compression saves too little to be worth the client's inflate. */
export function shouldCompress(json: string, compression: FrameCompression): boolean {
  return compression.minBytes > 0 && json.length >= compression.minBytes;
}

/** The frame's JSON as stored in the stream: plain, or `{"n":…,"z":"<base64>"}` when large enough. */
export function storedFrameJson(frame: PlainFrame, compression: FrameCompression): string {
  const json = JSON.stringify(frame);
  if (!shouldCompress(json, compression)) return json;
  return `{"n":${frame.events.length},"z":"${deflateRawSync(json).toString('base64')}"}`;
}

/** The frame as sent in this process (memory mode): plain, or compressed with the bytes as a Buffer. */
export function wireFrameOf(frame: PlainFrame, compression: FrameCompression): DeliveryFrame {
  const json = JSON.stringify(frame);
  if (!shouldCompress(json, compression)) return frame;
  return { n: frame.events.length, z: deflateRawSync(json) };
}

/** A stored compressed frame's parts, or `undefined` for a plain one (a cheap check of the string). */
export function storedCompressed(json: string): { n: number; bytes: Buffer } | undefined {
  if (!json.startsWith('{"n":')) return undefined;
  const match = STORED_COMPRESSED.exec(json);
  return match ? { n: Number(match[1]), bytes: Buffer.from(match[2] as string, 'base64') } : undefined;
}

/** Turns a frame parsed from the stream into its wire form (base64 → bytes). */
export function wireFrameFromStored(parsed: unknown): DeliveryFrame | undefined {
  const value = parsed as { n?: unknown; z?: unknown; events?: unknown };
  if (typeof value?.z === 'string' && typeof value.n === 'number') {
    const frame: CompressedFrame = { n: value.n, z: Buffer.from(value.z, 'base64') };
    return frame;
  }
  return Array.isArray(value?.events) ? (parsed as PlainFrame) : undefined;
}
