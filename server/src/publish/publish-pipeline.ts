import { RoomwireError, type CatalogDefinition } from '@roomwire/shared';
import { RoomBatcher, idempotencyScope, type BatchingOptions } from '../batching/room-batcher';
import type { EventSink } from '../stream/event-log';
import { frameOf, validatePublish, type PublishRequest } from './publish-request';

/** What a publish resolves to once the event is stored in the stream. */
export interface PublishResult {
  /** The envelope id (the earlier one, for a repeated idempotency key). */
  id: string;
  /** The stream offset of the frame that carried the event; `null` for volatile events, which are not kept. */
  offset: string | null;
  /** True when the idempotency key was already used within the window: nothing was sent again. */
  duplicate: boolean;
}

/** The publish path shared by the library and the HTTP API: validate → envelope → batch → stream. */
export type PublishFn = (request: PublishRequest) => Promise<PublishResult>;

/** A publish path and the means to flush it. */
export interface PublishPipeline {
  publish: PublishFn;
  /** Sends every batched event now (on close). */
  flush(): Promise<void>;
}

/** What the publish path reports (to metrics). */
export interface PublishObserver {
  published(seconds: number): void;
  publishFailed(code: string): void;
  frameAppended(events: number): void;
}

/** Builds the publish path into an event sink, with adaptive batching unless `batching` is false. */
export function createPublishPipeline(options: {
  catalog: CatalogDefinition;
  sink: EventSink;
  maxPayloadBytes: number;
  batching: Required<BatchingOptions> | false;
  observer?: PublishObserver;
}): PublishPipeline {
  const { catalog, sink, maxPayloadBytes, observer } = options;
  const append: EventSink['append'] = observer
    ? (room, frame, appendOptions) => {
        const appending = sink.append(room, frame, appendOptions);
        if (!appendOptions.volatile) void appending.then((r) => r.duplicateOf === undefined && observer.frameAppended(frame.events.length), () => undefined);
        return appending;
      }
    : sink.append.bind(sink);
  const batcher = options.batching === false ? undefined : new RoomBatcher(append, options.batching);
  const publish: PublishFn = async (request) => {
    if (!observer) return publishOne(request);
    const started = performance.now();
    try {
      const result = await publishOne(request);
      observer.published((performance.now() - started) / 1000);
      return result;
    } catch (err) {
      observer.publishFailed(err instanceof RoomwireError ? err.code : 'RW_ERR_INTERNAL');
      throw err;
    }
  };
  const publishOne: PublishFn = async (request) => {
    const valid = validatePublish(catalog, request, maxPayloadBytes);
    const result = batcher
      ? await batcher.submit(valid)
      : await append(
          valid.room,
          frameOf([valid.envelope]),
          valid.idempotencyKey === undefined
            ? { volatile: valid.volatile }
            : { volatile: valid.volatile, idempotency: { key: idempotencyScope(valid), eventId: valid.envelope.id } },
        );
    if (result.duplicateOf) return { id: result.duplicateOf.id, offset: result.duplicateOf.offset, duplicate: true };
    return { id: valid.envelope.id, offset: result.offset, duplicate: false };
  };
  return { publish, flush: async () => batcher?.flushAll() };
}
