import type { CatalogDefinition } from '@roomwire/shared';
import type { EventLog } from '../stream/event-log';
import { frameOf, validatePublish, type PublishRequest } from './publish-request';

/** What a publish resolves to once the event is stored in the stream. */
export interface PublishResult {
  /** The envelope id (the earlier one, for a repeated idempotency key). */
  id: string;
  /** The stream offset of the event; `null` for volatile events, which are not kept. */
  offset: string | null;
  /** True when the idempotency key was already used within the window: nothing was sent again. */
  duplicate: boolean;
}

/** The publish path shared by the library and the HTTP API: validate → envelope → stream. */
export type PublishFn = (request: PublishRequest) => Promise<PublishResult>;

/** Builds the publish path over an event log. */
export function createPublishPipeline(options: { catalog: CatalogDefinition; log: EventLog; maxPayloadBytes: number }): PublishFn {
  const { catalog, log, maxPayloadBytes } = options;
  return async (request) => {
    const valid = validatePublish(catalog, request, maxPayloadBytes);
    const appendOptions = valid.idempotencyKey === undefined
      ? { volatile: valid.volatile }
      : { volatile: valid.volatile, idempotency: { key: valid.idempotencyKey, eventId: valid.envelope.id } };
    const result = await log.append(valid.room, frameOf([valid.envelope]), appendOptions);
    if (result.duplicateOf) return { id: result.duplicateOf.id, offset: result.duplicateOf.offset, duplicate: true };
    return { id: valid.envelope.id, offset: result.offset, duplicate: false };
  };
}
