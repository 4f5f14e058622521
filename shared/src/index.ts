export {
  catalog,
  defineEvents,
  event,
  findEvent,
  isVolatile,
  type Catalog,
  type CatalogDefinition,
  type EventData,
  type EventDefinition,
  type EventType,
  type ServiceName,
} from './catalog';
export {
  ERROR_CODES,
  RoomwireError,
  isErrorCode,
  isRetryable,
  type ErrorCode,
  type RwErrorPayload,
} from './codes';
export {
  frameEventCount,
  isCompressedFrame,
  isDeliveryFrame,
  isPlainFrame,
  type CompressedFrame,
  type DeliveryFrame,
  type EventEnvelope,
  type PlainFrame,
  type TypedEnvelope,
} from './envelope';
export { Fifo } from './fifo';
export { MAX_NAME_LENGTH, NAME_PATTERN, isValidName, orgOfRoom, orgRoom, parseServiceRoom, serviceRoom } from './names';
export {
  AFFINITY_QUERY_PARAM,
  EVENTS,
  PROTOCOL_VERSION,
  compareOffsets,
  isValidOffset,
  type ClientToServerEvents,
  type FailureAck,
  type HandshakeAuth,
  type PositionNotice,
  type ResumeAck,
  type ResumeRequest,
  type ResyncNotice,
  type ServerToClientEvents,
  type StreamPosition,
  type SubscribeAck,
  type SubscribeRequest,
  type UnsubscribeAck,
} from './protocol';
