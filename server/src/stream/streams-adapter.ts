import { createAdapter } from '@socket.io/redis-streams-adapter';
import { EVENTS, isPlainFrame } from '@roomwire/shared';
import { Adapter } from 'socket.io-adapter';
import type { RecoveryGate } from '../recovery/recovery-gate';
import { storedCompressed } from './frame-codec';
import { BROADCAST_TYPE, splitBroadcast, type EncodedFrame, type StreamFields } from './adapter-message';
import type { RedisClient } from './redis-client';

/** A message as the cluster adapter hands it to `onMessage`. */
interface ClusterMessage {
  uid: string;
  nsp: string;
  type: number;
  data?: { requestId?: string; packet?: { data?: unknown[] }; opts?: { rooms: string[]; except: string[]; flags?: { volatile?: boolean } } };
}

type NamespaceLike = { name: string };

/** Options of {@link streamsAdapterFactory}. */
export interface StreamsAdapterOptions {
  streamName: string;
  maxStreamLength: number;
  sessionKeyPrefix: string;
  /** How often each node writes a heartbeat into the stream, which also moves idle readers forward. */
  heartbeatIntervalMs: number;
  gate: RecoveryGate;
  /** Called after each stream entry has been delivered to this node's sockets. */
  onDelivered(offset: string): void;
  /** Called with each durable Roomwire frame read from the stream, before it is delivered. */
  onFrame(offset: string, frame: EncodedFrame, storedBytes: number): void;
  /** Installs session persistence on each adapter. */
  onAdapter(adapter: Adapter): void;
}

/** Marks a packet whose Socket.IO encoding is already known. */
const PRE_ENCODED = Symbol('roomwire.preEncoded');

type Packet = { type: number; data: unknown[]; nsp: string; [PRE_ENCODED]?: unknown[] };
type Encoder = { encode(packet: Packet): unknown[] };
type StreamsAdapter = Adapter & {
  uid: string;
  onMessage(message: ClusterMessage, offset?: string): void;
  onRawMessage(raw: StreamFields, offset: string): void;
};

/** The in-memory adapter's local broadcast, which the streams adapter's own `broadcast` wraps. */
const localBroadcast = Adapter.prototype.broadcast;

/**
 * `@socket.io/redis-streams-adapter`, with a fast path for Roomwire's entries on each namespace
 * adapter: the frame's JSON is cut out of the entry and sent as it is (no parse, no re-serialisation),
 * after passing the recovery gate; other entries take the adapter's own path. The node learns how far
 * its reader has delivered.
 */
export function streamsAdapterFactory(client: RedisClient, options: StreamsAdapterOptions): (nsp: NamespaceLike) => Adapter {
  const factory = createAdapter(client, {
    streamName: options.streamName,
    maxLen: options.maxStreamLength,
    sessionKeyPrefix: options.sessionKeyPrefix,
    heartbeatInterval: options.heartbeatIntervalMs,
    heartbeatTimeout: Math.max(10_000, 3 * options.heartbeatIntervalMs),
    // Shorter blocking reads let a closing node release its reader connection quickly.
    blockTimeInMs: 1000,
  }) as unknown as (nsp: NamespaceLike) => StreamsAdapter;
  // A function, not an arrow: Socket.IO calls the adapter factory with `new`.
  return function roomwireStreamsAdapter(nsp: NamespaceLike): Adapter {
    const adapter = factory(nsp);
    // `encoder` is private in the adapter's typings; the in-memory broadcast encodes through it once per packet.
    const internals = adapter as unknown as { encoder: Encoder };
    const encoder = internals.encoder;
    internals.encoder = { encode: (packet) => packet[PRE_ENCODED] ?? encoder.encode(packet) };
    const onRawMessage = adapter.onRawMessage.bind(adapter);
    const onMessage = adapter.onMessage.bind(adapter);

    const deliver = (offset: string, frame: EncodedFrame, storedBytes: number): void => {
      options.onFrame(offset, frame, storedBytes);
      const except = new Set<string>();
      if (options.gate.size > 0) options.gate.intercept(frame.rooms, except, () => frame.frame(), offset);
      const packet: Packet = { type: 2, data: [], nsp: nsp.name, [PRE_ENCODED]: preEncode(frame.json, offset) };
      localBroadcast.call(adapter, packet, { rooms: new Set(frame.rooms), except, flags: {} });
    };

    adapter.onRawMessage = (raw: StreamFields, offset: string) => {
      const frame = nsp.name === '/' && raw.nsp === '/' ? splitBroadcast(raw) : undefined;
      if (frame) deliver(offset, frame, raw.data?.length ?? 0);
      else onRawMessage(raw, offset);
      if (raw.nsp === nsp.name) options.onDelivered(offset);
    };
    // Broadcasts in any other layout (not written by Roomwire) still reach the gate and the cache.
    adapter.onMessage = (message: ClusterMessage, offset?: string) => {
      const data = message.data;
      const frame = data?.packet?.data?.[1];
      if (
        offset !== undefined &&
        // This node's own broadcasts were delivered locally when they were sent.
        message.uid !== adapter.uid &&
        message.nsp === nsp.name &&
        String(message.type) === BROADCAST_TYPE &&
        data?.opts &&
        data.requestId === undefined &&
        !data.opts.flags?.volatile &&
        data.packet?.data?.[0] === EVENTS.event &&
        isPlainFrame(frame)
      ) {
        const json = JSON.stringify(frame);
        deliver(offset, { rooms: data.opts.rooms, json, events: frame.events.length, firstTs: frame.events[0]?.ts ?? 0, frame: () => frame }, json.length);
        return;
      }
      onMessage(message, offset);
    };
    options.onAdapter(adapter);
    return adapter;
  };
}

/**
 * Exactly what socket.io-parser produces for `["rw:event", frame, offset]` on "/": an EVENT packet for
 * a plain frame; for a compressed one a BINARY_EVENT with one attachment, the DEFLATE bytes.
 */
function preEncode(json: string, offset: string): unknown[] {
  const compressed = storedCompressed(json);
  if (!compressed) return [`2["${EVENTS.event}",${json},"${offset}"]`];
  return [`51-["${EVENTS.event}",{"n":${compressed.n},"z":{"_placeholder":true,"num":0}},"${offset}"]`, compressed.bytes];
}
