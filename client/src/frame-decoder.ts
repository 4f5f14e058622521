import { isCompressedFrame, isPlainFrame, type CompressedFrame, type DeliveryFrame, type EventEnvelope } from '@roomwire/shared';

/** Node's zlib when running in Node (`process.getBuiltinModule`, Node ≥ 20.16): inflating is then synchronous. */
export type SyncInflate = { inflateRawSync(bytes: Uint8Array): { toString(encoding: 'utf8'): string } };
const nodeZlib = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.('node:zlib') as
  | SyncInflate
  | undefined;

/**
 * Turns frames into envelopes in arrival order. Plain frames are handed on at once; compressed ones
 * are inflated — synchronously with Node's zlib, else with the platform's DecompressionStream (raw
 * DEFLATE; browsers) — and while one is being inflated, every later frame waits its turn, so
 * handlers see events in order.
 *
 * `a` and `b` are handed back with the frame's events (two values rather than one object: a plain frame
 * then goes from the socket to `deliver` without allocating).
 *
 * @example
 * const decode = createFrameDecoder((events) => events.forEach(handle), console.error);
 * socket.on('rw:event', (frame) => decode(frame, undefined, undefined));
 */
export function createFrameDecoder<A, B = undefined>(
  deliver: (events: EventEnvelope[], a: A, b: B) => void,
  onError: (err: unknown) => void,
  options: { syncInflate?: SyncInflate | undefined } = { syncInflate: nodeZlib },
): (frame: DeliveryFrame, a: A, b: B) => void {
  const syncInflate = options.syncInflate;
  let queue: Promise<void> | null = null;
  let waiting = 0;
  return (frame, a, b) => {
    if (queue === null && !isCompressedFrame(frame)) {
      deliver(frame.events, a, b);
      return;
    }
    if (queue === null && syncInflate) {
      let events: EventEnvelope[];
      try {
        events = inflateFrameSync(frame as CompressedFrame, syncInflate);
      } catch (err) {
        onError(err);
        return;
      }
      deliver(events, a, b);
      return;
    }
    // Inflation starts at once; only the hand-over is ordered.
    const events = isCompressedFrame(frame) ? inflateFrame(frame) : Promise.resolve(frame.events);
    waiting += 1;
    queue = (queue ?? Promise.resolve())
      .then(() => events)
      .then((decoded) => deliver(decoded, a, b), onError)
      .finally(() => {
        waiting -= 1;
        if (waiting === 0) queue = null;
      });
  };
}

function inflateFrameSync(frame: CompressedFrame, zlib: SyncInflate): EventEnvelope[] {
  const bytes = frame.z instanceof Uint8Array ? frame.z : new Uint8Array(frame.z);
  return checkedEvents(JSON.parse(zlib.inflateRawSync(bytes).toString('utf8')));
}

function checkedEvents(parsed: unknown): EventEnvelope[] {
  if (!isPlainFrame(parsed)) throw new TypeError('a compressed frame did not hold a frame of envelopes');
  return parsed.events;
}

/** Inflates a compressed frame into its envelopes (the streams way, for browsers). */
export async function inflateFrame(frame: CompressedFrame): Promise<EventEnvelope[]> {
  const bytes = frame.z instanceof Uint8Array ? frame.z : new Uint8Array(frame.z);
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return checkedEvents(JSON.parse(await new Response(stream).text()));
}
