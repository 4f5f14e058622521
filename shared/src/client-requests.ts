import type { FailureAck } from './protocol';
import type { RwErrorPayload } from './codes';

/** Body of `rw:refresh`: a fresh token for the open connection. */
export interface RefreshRequest {
  token: string;
}

/**
 * Ack of `rw:refresh`. On success the connection runs on the new token's claims until `exp` (seconds
 * since the epoch); `left` names the services the new token no longer allows, which the connection has
 * left (each also reported in a `rw:error` `RW_ERR_FORBIDDEN` notice).
 */
export type RefreshAck = { ok: true; exp: number; left: string[] } | FailureAck;

/** Body of `rw:publish`: one event a client sends (its type must be marked `clientPublish` in the catalog). */
export interface ClientPublishRequest {
  service: string;
  type: string;
  data: unknown;
}

/** Ack of `rw:publish`: the event's id, and the offset of the frame that carried it (`null` for volatile events). */
export type ClientPublishAck = { ok: true; id: string; offset: string | null } | FailureAck;

/** Most events in one `POST /v1/publish/batch` or `publisher.emitMany`. */
export const MAX_BATCH_EVENTS = 100;

/** One result of a batch publish, in the order of the events: the event's outcome, or why it was refused. */
export type BatchItemResult = { id: string; offset: string | null; duplicate: boolean } | { error: RwErrorPayload };

/** Body of the `200` answer of `POST /v1/publish/batch`. */
export interface BatchPublishResponse {
  results: BatchItemResult[];
}
