import { isCompressedFrame, isPlainFrame, type CompressedFrame, type DeliveryFrame, type EventEnvelope } from '@roomwire/shared';

/**
 * Turns frames into envelopes in arrival order. Plain frames are handed on at once; compressed ones
 * are inflated with the platform's DecompressionStream (raw DEFLATE; browsers and Node ≥ 20.12), and
 * while one is being inflated, every later frame waits its turn, so handlers see events in order.
 *
 * @example
 * const decode = createFrameDecoder((events) => events.forEach(handle), console.error);
 * socket.on('rw:event', (frame) => decode(frame, undefined));
 */
export function createFrameDecoder<C>(
  deliver: (events: EventEnvelope[], context: C) => void,
  onError: (err: unknown) => void,
): (frame: DeliveryFrame, context: C) => void {
  let queue: Promise<void> | null = null;
  let waiting = 0;
  return (frame, context) => {
    if (queue === null && !isCompressedFrame(frame)) {
      deliver(frame.events, context);
      return;
    }
    // Inflation starts at once; only the hand-over is ordered.
    const events = isCompressedFrame(frame) ? inflateFrame(frame) : Promise.resolve(frame.events);
    waiting += 1;
    queue = (queue ?? Promise.resolve())
      .then(() => events)
      .then((decoded) => deliver(decoded, context), onError)
      .finally(() => {
        waiting -= 1;
        if (waiting === 0) queue = null;
      });
  };
}

/** Inflates a compressed frame into its envelopes. */
export async function inflateFrame(frame: CompressedFrame): Promise<EventEnvelope[]> {
  const bytes = frame.z instanceof Uint8Array ? frame.z : new Uint8Array(frame.z);
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const parsed: unknown = JSON.parse(await new Response(stream).text());
  if (!isPlainFrame(parsed)) throw new TypeError('a compressed frame did not hold a frame of envelopes');
  return parsed.events;
}
