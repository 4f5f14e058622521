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
export interface DeliveryFrame {
  events: EventEnvelope[];
}

/** Why: frames come from the network; the client checks the shape before trusting it. */
export function isDeliveryFrame(value: unknown): value is DeliveryFrame {
  if (typeof value !== 'object' || value === null) return false;
  const events = (value as { events?: unknown }).events;
  return Array.isArray(events) && events.every(isEnvelope);
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
