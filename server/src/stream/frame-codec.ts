import { deflateRawSync } from 'node:zlib';
import type { DeliveryFrame, PlainFrame } from '@roomwire/shared';

/**
 * Large frames are compressed once, where they are published, instead of once per socket (which is
 * what permessage-deflate does): every node then forwards the same bytes to all its sockets.
 */
export interface FrameCompression {
  /** Frames whose JSON has at least this many bytes are compressed; 0 turns compression off. */
  minBytes: number;
}

/** Why: below the threshold, compression saves too little to be worth the client's inflate. */
export function shouldCompress(json: string, compression: FrameCompression): boolean {
  return compression.minBytes > 0 && json.length >= compression.minBytes;
}

/** The frame as sent in this process (memory mode): plain, or compressed with the bytes as a Buffer. */
export function wireFrameOf(frame: PlainFrame, compression: FrameCompression): DeliveryFrame {
  const json = JSON.stringify(frame);
  if (!shouldCompress(json, compression)) return frame;
  return { n: frame.events.length, z: deflateRawSync(json) };
}
