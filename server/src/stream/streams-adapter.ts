import { createAdapter } from '@socket.io/redis-streams-adapter';
import { EVENTS, isDeliveryFrame, type DeliveryFrame } from '@roomwire/shared';
import type { Adapter } from 'socket.io-adapter';
import type { RecoveryGate } from '../recovery/recovery-gate';
import { BROADCAST_TYPE } from './adapter-message';
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
  onDurable(offset: string, rooms: string[], frame: DeliveryFrame, bytes: number): void;
  /** Installs session persistence on each adapter. */
  onAdapter(adapter: Adapter): void;
}

/**
 * `@socket.io/redis-streams-adapter`, with two hooks on each namespace adapter: durable frames pass the
 * recovery gate before local delivery, and the node learns how far its reader has delivered.
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
  }) as unknown as (nsp: NamespaceLike) => Adapter & {
    uid: string;
    onMessage(message: ClusterMessage, offset?: string): void;
    onRawMessage(raw: { data?: string }, offset: string): void;
  };
  // A function, not an arrow: Socket.IO calls the adapter factory with `new`.
  return function roomwireStreamsAdapter(nsp: NamespaceLike): Adapter {
    const adapter = factory(nsp);
    const onMessage = adapter.onMessage.bind(adapter);
    const onRawMessage = adapter.onRawMessage.bind(adapter);
    // The size of the entry as stored, known before the adapter decodes it.
    let rawBytes = 0;
    adapter.onRawMessage = (raw: { data?: string }, offset: string) => {
      rawBytes = raw.data?.length ?? 0;
      onRawMessage(raw, offset);
    };
    adapter.onMessage = (message: ClusterMessage, offset?: string) => {
      if (offset !== undefined && message.nsp === nsp.name && String(message.type) === BROADCAST_TYPE) {
        const { data } = message;
        const frame = data?.packet?.data?.[1];
        if (data?.opts && data.requestId === undefined && !data.opts.flags?.volatile && data.packet?.data?.[0] === EVENTS.event && isDeliveryFrame(frame)) {
          options.onDurable(offset, data.opts.rooms, frame, rawBytes);
          if (options.gate.size > 0) options.gate.intercept(data.opts.rooms, data.opts.except, frame, offset);
        }
      }
      onMessage(message, offset);
      if (offset !== undefined && message.nsp === nsp.name) options.onDelivered(offset);
    };
    options.onAdapter(adapter);
    return adapter;
  };
}
