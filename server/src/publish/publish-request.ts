import { randomUUID } from 'node:crypto';
import {
  RoomwireError,
  findEvent,
  isValidName,
  serviceRoom,
  type CatalogDefinition,
  type PlainFrame,
  type EventEnvelope,
} from '@roomwire/shared';
import { safePreview } from '../safe-preview';
import { isWellFormed, isWellFormedValue } from './well-formed';

/** One event to publish, as the HTTP API and the publisher library take it. */
export interface PublishRequest {
  org: string;
  service: string;
  type: string;
  data: unknown;
  idempotencyKey?: string;
  /**
   * The sending client's `sub`, from its verified token (client publishes only): copied into the
   * envelope. Never read from a request body.
   */
  sub?: string;
}

/** A validated request: the envelope to send, its room and delivery class. */
export interface ValidatedPublish {
  envelope: EventEnvelope;
  /** Size of the envelope's JSON, in bytes. */
  bytes: number;
  room: string;
  volatile: boolean;
  idempotencyKey?: string;
}

/** Longest idempotency key accepted. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

/**
 * Checks a publish request against the catalog and builds its envelope; throws a
 * {@link RoomwireError} (`RW_ERR_INVALID_REQUEST`, `RW_ERR_UNKNOWN_EVENT`, `RW_ERR_INVALID_PAYLOAD`,
 * `RW_ERR_PAYLOAD_TOO_LARGE`) and sends nothing when it is not acceptable.
 */
export function validatePublish(catalog: CatalogDefinition, request: PublishRequest, maxPayloadBytes: number): ValidatedPublish {
  const { org, service, type, idempotencyKey } = request;
  if (!isValidName(org)) throw new RoomwireError('RW_ERR_INVALID_REQUEST', `invalid org name ${preview(org)}`);
  if (!isValidName(service)) throw new RoomwireError('RW_ERR_INVALID_REQUEST', `invalid service name ${preview(service)}`);
  if (typeof type !== 'string') throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'type must be a string');
  if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH || !isWellFormed(idempotencyKey))) {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', `idempotencyKey must be a string of 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters of valid Unicode`);
  }
  const definition = findEvent(catalog, service, type);
  if (!definition) throw new RoomwireError('RW_ERR_UNKNOWN_EVENT', `unknown event type ${preview(service)}/${preview(type)}`);
  const parsed = definition.schema.safeParse(request.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = issues[0];
    throw new RoomwireError('RW_ERR_INVALID_PAYLOAD', `invalid ${service}/${type} payload${first ? `: ${first.path || '(root)'}: ${first.message}` : ''}`, issues);
  }
  if (!isWellFormedValue(parsed.data)) {
    throw new RoomwireError('RW_ERR_INVALID_PAYLOAD', `invalid ${service}/${type} payload: a string has a lone surrogate (not valid Unicode, it would reach subscribers altered)`);
  }
  const envelope: EventEnvelope = { id: randomUUID(), org, service, type, ts: Date.now(), data: parsed.data };
  if (request.sub !== undefined) envelope.sub = request.sub;
  const bytes = Buffer.byteLength(JSON.stringify(envelope));
  if (bytes > maxPayloadBytes) {
    throw new RoomwireError('RW_ERR_PAYLOAD_TOO_LARGE', `event is ${bytes} bytes, more than the limit of ${maxPayloadBytes}`);
  }
  const result: ValidatedPublish = { envelope, bytes, room: serviceRoom(org, service), volatile: definition.volatile };
  if (idempotencyKey !== undefined) result.idempotencyKey = idempotencyKey;
  return result;
}

/** Wraps validated envelopes into the frame sent on the wire. */
export function frameOf(envelopes: EventEnvelope[]): PlainFrame {
  return { events: envelopes };
}

function preview(value: unknown): string {
  return safePreview(value);
}
