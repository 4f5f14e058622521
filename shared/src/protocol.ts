import type { RwErrorPayload } from './codes';
import type { ClientPublishAck, ClientPublishRequest, RefreshAck, RefreshRequest } from './client-requests';
import type { DeliveryFrame, EventEnvelope } from './envelope';

/** Version of the wire protocol described in PROTOCOL.md; sent by clients in the handshake. */
export const PROTOCOL_VERSION = 1;

/**
 * Query parameter of the Socket.IO handshake that carries the stream partition of the client's org
 * (`partitionOfOrg(org, STREAM_PARTITIONS)`), for a load balancer that routes handshakes by partition
 * (partition affinity: `balance url_param rw_partition` in HAProxy), so that each node reads only its
 * partitions. A routing hint only: nodes never read it; the token decides what a socket may see.
 */
export const AFFINITY_QUERY_PARAM = 'rw_partition';

/** Socket.IO event names of the protocol. Never emit an event whose last argument is a string. */
export const EVENTS = {
  /** client → server, with ack: join service rooms. */
  subscribe: 'rw:subscribe',
  /** client → server, with ack: leave service rooms. */
  unsubscribe: 'rw:unsubscribe',
  /** client → server, with ack: rejoin service rooms and replay what was missed since a position. */
  resume: 'rw:resume',
  /** client → server, with ack: swap the connection's token for a fresh one, without reconnecting. */
  refresh: 'rw:refresh',
  /** client → server, with ack: publish one event of a type the catalog lets clients send. */
  publish: 'rw:publish',
  /** server → client: a delivery frame; durable frames carry their stream offset as a last argument. */
  event: 'rw:event',
  /**
   * server → client: a watermark. Every durable frame of the socket's rooms up to `offset` has been
   * sent before it, so a quiet client still holds a recent position. `offset` is the last argument on
   * purpose: socket.io-client adopts it as its recovery offset.
   */
  position: 'rw:position',
  /** server → client: events of these services were lost for this socket; reload state. */
  resync: 'rw:resync',
  /** server → client: a notice with an error code (the token expired, the node is draining, …). */
  error: 'rw:error',
  /** client → server, with ack: who is present in one service of the org (needs a token with `sub`). */
  presence: 'rw:presence',
  /** server → client, volatile: a user joined (first connection) or left (last connection) a service. */
  presenceChange: 'rw:presence-change',
  /** client → server, with ack: a page of the service's durable events in the window, newest first. */
  history: 'rw:history',
} as const;

/**
 * Where a client stands in the cluster's event stream. `offset` is a stream entry id (`ms-seq`);
 * `epoch` names the stream's lifetime, so a stream that was lost (Redis restarted without
 * persistence) is never mistaken for the one the offset came from.
 */
export interface StreamPosition {
  epoch: string;
  offset: string;
}

/** The `auth` object of the Socket.IO handshake. socket.io-client adds `pid` and `offset` itself. */
export interface HandshakeAuth {
  token: string;
  /** Protocol version, {@link PROTOCOL_VERSION}. */
  v: number;
}

/** Body of `rw:subscribe` and `rw:unsubscribe`. */
export interface SubscribeRequest {
  services: string[];
}

/** Body of `rw:resume`. */
export interface ResumeRequest {
  services: string[];
  /** The last position the client holds (from a subscribe ack or the offset of the last frame). */
  position: StreamPosition;
}

/** Failure ack of any request. */
export interface FailureAck {
  ok: false;
  error: RwErrorPayload;
}

/** Ack of `rw:subscribe`: the position from which the client is guaranteed every event. */
export type SubscribeAck = { ok: true; services: string[]; position: StreamPosition } | FailureAck;

/** Ack of `rw:unsubscribe`. */
export type UnsubscribeAck = { ok: true; services: string[] } | FailureAck;

/**
 * Ack of `rw:resume`. With `recovered: true`, every missed durable frame was emitted (as `rw:event`)
 * before this ack. With `recovered: false`, nothing was replayed: the client must resync `services`.
 */
export type ResumeAck =
  | { ok: true; recovered: true; services: string[]; position: StreamPosition; replayed: number }
  | { ok: true; recovered: false; services: string[]; position: StreamPosition; reason: string }
  | FailureAck;

/** First argument of `rw:position`; the offset follows as the last argument. */
export interface PositionNotice {
  epoch: string;
}

/** Body of `rw:resync`. */
export interface ResyncNotice {
  services: string[];
  reason: string;
}

/** Body of `rw:presence`. */
export interface PresenceRequest {
  service: string;
}

/** One user present in a service: `connections` counts its sockets over the whole cluster. */
export interface PresenceMember {
  userId: string;
  connections: number;
}

/**
 * Who is present in one service of an org, cluster-wide. Above the node's member cap (`PRESENCE_MAX_MEMBERS`)
 * a service answers counts only: `members` is then `null`.
 */
export interface PresenceSnapshot {
  service: string;
  /** Distinct users present. */
  users: number;
  /** Their connections, summed. */
  connections: number;
  /** Every member, or `null` when `users` is above the cap. */
  members: PresenceMember[] | null;
}

/** Ack of `rw:presence`. */
export type PresenceAck = ({ ok: true } & PresenceSnapshot) | FailureAck;

/** Body of `rw:presence-change`: sent once per user, on its first connection in and its last out. */
export interface PresenceChange {
  service: string;
  type: 'join' | 'leave';
  userId: string;
}

/** Most events one history page may ask for. */
export const MAX_HISTORY_LIMIT = 100;

/** Events of a history page when the request names no `limit`. */
export const DEFAULT_HISTORY_LIMIT = 20;

/** Body of `rw:history`. */
export interface HistoryRequest {
  service: string;
  /** Events in the page, 1 to {@link MAX_HISTORY_LIMIT}. @default 20 */
  limit?: number;
  /** The `next` cursor of the previous page (or a stream offset): only events older than it. */
  before?: string;
}

/** A page of history: durable envelopes of the window, newest first; `next` is the cursor of the next (older) page, `null` at the end. */
export interface HistoryPage {
  service: string;
  events: EventEnvelope[];
  next: string | null;
}

/** Ack of `rw:history`. */
export type HistoryAck = ({ ok: true } & HistoryPage) | FailureAck;

const CURSOR_PATTERN = /^(\d{1,20}-\d{1,20})(?::(\d{1,4}))?$/;

/**
 * Parses a history cursor: `ms-seq` (events of entries older than that stream entry) or `ms-seq:i`
 * (also the events before the `i`-th of that entry). `undefined` when malformed.
 */
export function parseHistoryCursor(cursor: unknown): { offset: string; index: number } | undefined {
  if (typeof cursor !== 'string') return undefined;
  const match = CURSOR_PATTERN.exec(cursor);
  if (!match) return undefined;
  return { offset: match[1] as string, index: match[2] === undefined ? 0 : Number(match[2]) };
}

/** Events the server emits, typed for Socket.IO's `Server<…>` and socket.io-client's `Socket<…>`. */
export interface ServerToClientEvents {
  'rw:event': (frame: DeliveryFrame, offset?: string) => void;
  'rw:position': (notice: PositionNotice, offset: string) => void;
  'rw:resync': (notice: ResyncNotice) => void;
  'rw:error': (notice: RwErrorPayload) => void;
  'rw:presence-change': (notice: PresenceChange) => void;
}

/** Events the client emits. */
export interface ClientToServerEvents {
  'rw:subscribe': (request: SubscribeRequest, ack: (result: SubscribeAck) => void) => void;
  'rw:unsubscribe': (request: SubscribeRequest, ack: (result: UnsubscribeAck) => void) => void;
  'rw:resume': (request: ResumeRequest, ack: (result: ResumeAck) => void) => void;
  'rw:refresh': (request: RefreshRequest, ack: (result: RefreshAck) => void) => void;
  'rw:publish': (request: ClientPublishRequest, ack: (result: ClientPublishAck) => void) => void;
  'rw:presence': (request: PresenceRequest, ack: (result: PresenceAck) => void) => void;
  'rw:history': (request: HistoryRequest, ack: (result: HistoryAck) => void) => void;
}

const OFFSET_PATTERN = /^(\d{1,20})-(\d{1,20})$/;

/** Why: offsets come from the wire; anything but `ms-seq` is refused before it reaches Redis. */
export function isValidOffset(offset: unknown): offset is string {
  return typeof offset === 'string' && OFFSET_PATTERN.test(offset);
}

/**
 * Compares two stream offsets (`ms-seq`): negative when `a` is older, 0 when equal. Numbers of any
 * length compare exactly: without leading zeros, a longer run of digits is the larger number, and runs
 * of equal length compare as strings. (On the hot path of every frame: no regex, no BigInt.)
 */
export function compareOffsets(a: string, b: string): number {
  if (a === b) return 0;
  const ia = dash(a);
  const ib = dash(b);
  // A longer time part is a later time.
  if (ia !== ib) return ia < ib ? -1 : 1;
  // The usual case (offsets of one stream, close in time): parts of equal lengths compare as text, natively.
  if (a.length === b.length) return a < b ? -1 : 1;
  // Times of equal length but sequences of different lengths: the times digit by digit, then the
  // longer sequence is the larger. No slices, no allocation.
  for (let i = 0; i < ia; i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

function dash(offset: string): number {
  const at = offset.indexOf('-');
  if (at < 1 || at === offset.length - 1) throw new TypeError(`invalid stream offset: ${JSON.stringify(offset)}`);
  return at;
}

