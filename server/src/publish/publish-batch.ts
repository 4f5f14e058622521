import { MAX_BATCH_EVENTS, RoomwireError, type BatchItemResult } from '@roomwire/shared';
import type { PublishFn } from './publish-pipeline';
import type { PublishRequest } from './publish-request';

/**
 * Publishes up to {@link MAX_BATCH_EVENTS} events, each validated and published on its own through
 * the same path as a single publish (schema, envelope, batching, idempotency), and answers one result
 * per event, in their order: `{ id, offset, duplicate }`, or `{ error: { code, message } }` for an event
 * that was refused (the others are published all the same). The events are handed to the publish path
 * in order, so events of one room keep their order in the stream. Throws `RW_ERR_INVALID_REQUEST` when
 * `events` is not a list of 1 to 100 entries (nothing is published).
 *
 * @example
 * const results = await publishBatch(publish, [{ org: 'acme', service: 'billing', type: 'invoice.paid', data }]);
 */
export async function publishBatch(publish: PublishFn, events: unknown): Promise<BatchItemResult[]> {
  if (!Array.isArray(events) || events.length === 0 || events.length > MAX_BATCH_EVENTS) {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', `events must be a list of 1 to ${MAX_BATCH_EVENTS} events`);
  }
  // Started in order, in this tick: the publish path queues each event before the next is looked at.
  const pending = events.map((event) => {
    try {
      return publish(toRequest(event));
    } catch (err) {
      return Promise.reject(err);
    }
  });
  const settled = await Promise.allSettled(pending);
  return settled.map((outcome) => {
    if (outcome.status === 'fulfilled') return { id: outcome.value.id, offset: outcome.value.offset, duplicate: outcome.value.duplicate };
    const error = outcome.reason instanceof RoomwireError ? outcome.reason : new RoomwireError('RW_ERR_INTERNAL', 'internal error');
    return { error: error.toJSON() };
  });
}

/** One entry of a batch as a publish request; the publish path checks every field. */
function toRequest(event: unknown): PublishRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'each event must be an object { org, service, type, data, idempotencyKey? }');
  }
  const { org, service, type, data, idempotencyKey } = event as Record<string, unknown>;
  return {
    org: org as string,
    service: service as string,
    type: type as string,
    data,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey: idempotencyKey as string }),
  };
}
