import type { CatalogDefinition, EventData, EventType, ServiceName } from './catalog';

/**
 * One event as delivered: the payload plus where it belongs. `id` is unique per published event and
 * is what clients deduplicate by; `ts` is the publish time in milliseconds since the epoch.
 */
export interface EventEnvelope<D = unknown, S extends string = string, T extends string = string> {
  id: string;
  org: string;
  service: S;
  type: T;
  ts: number;
  data: D;
  /**
   * The `sub` of the client that sent the event (`client.publish`), set by the node from the sender's
   * verified token, never from what the client sent. Absent on events published by backends, and on
   * events of clients whose token has no `sub`.
   */
  sub?: string;
}

/** The envelope of one event type of a catalog. */
export type TypedEnvelope<
  C extends CatalogDefinition,
  S extends ServiceName<C>,
  T extends EventType<C, S>,
> = EventEnvelope<EventData<C, S, T>, S, T>;

/**
 * What one `rw:event` carries: one or more envelopes of one room, in publish order. A lone event is a
 * frame of one; batching coalesces bursts into one frame. One frame is one stream entry and so one
 * recovery offset: recovery replays frames as they were sent.
 */
export type DeliveryFrame = PlainFrame | CompressedFrame;

/** A frame as JSON. */
export interface PlainFrame {
  events: EventEnvelope[];
}

/**
 * A large frame, compressed once where it is published: `z` is the raw DEFLATE (RFC 1951) of the
 * UTF-8 JSON of a {@link PlainFrame}, sent as a Socket.IO binary attachment; `n` is its event count.
 */
export interface CompressedFrame {
  n: number;
  z: Uint8Array | ArrayBuffer;
}

/** Why: frames come from the network; the client checks the shape before trusting it. */
export function isDeliveryFrame(value: unknown): value is DeliveryFrame {
  return isPlainFrame(value) || isCompressedFrame(value);
}

/** A frame of envelopes as JSON. */
export function isPlainFrame(value: unknown): value is PlainFrame {
  if (typeof value !== 'object' || value === null) return false;
  const events = (value as { events?: unknown }).events;
  return Array.isArray(events) && events.every(isEnvelope);
}

/** A compressed frame (see {@link CompressedFrame}). */
export function isCompressedFrame(value: unknown): value is CompressedFrame {
  if (typeof value !== 'object' || value === null) return false;
  const { n, z } = value as { n?: unknown; z?: unknown };
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && (z instanceof Uint8Array || z instanceof ArrayBuffer);
}

/** Number of events in a frame, without inflating it. */
export function frameEventCount(frame: DeliveryFrame): number {
  return 'events' in frame ? frame.events.length : frame.n;
}

function isEnvelope(value: unknown): value is EventEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.id === 'string' &&
    typeof e.org === 'string' &&
    typeof e.service === 'string' &&
    typeof e.type === 'string' &&
    typeof e.ts === 'number'
  );
}
