import { EVENTS, isDeliveryFrame, type DeliveryFrame } from '@roomwire/shared';
import { Adapter, type BroadcastOptions } from 'socket.io-adapter';
import type { RecoveryGate } from '../recovery/recovery-gate';
import type { MemoryStreamLog } from './memory-stream-log';

/** Socket.IO packet type of an event. */
const EVENT_PACKET_TYPE = 2;

/**
 * The in-memory adapter of a lone node: every durable Roomwire broadcast is recorded in the memory
 * log (which gives it its offset) and passes the recovery gate before local delivery.
 */
export function memoryAdapterClass(
  log: MemoryStreamLog,
  gate: RecoveryGate,
  onAdapter: (adapter: Adapter) => void,
  onDurable: (rooms: string[], frame: DeliveryFrame) => void,
): typeof Adapter {
  return class MemoryLogAdapter extends Adapter {
    constructor(nsp: ConstructorParameters<typeof Adapter>[0]) {
      super(nsp);
      onAdapter(this);
    }

    override broadcast(packet: { type: number; data: unknown[]; id?: number }, opts: BroadcastOptions): void {
      const frame = packet.data[1];
      const durable =
        packet.type === EVENT_PACKET_TYPE &&
        packet.id === undefined &&
        !opts.flags?.volatile &&
        // Local sends (replays, notices to one socket) are not new events.
        !opts.flags?.local &&
        packet.data[0] === EVENTS.event &&
        isDeliveryFrame(frame);
      if (durable) {
        const rooms = [...opts.rooms];
        const offset = log.record(rooms, frame);
        onDurable(rooms, frame);
        opts.except ??= new Set();
        gate.intercept(opts.rooms, opts.except, frame, offset);
        packet.data.push(offset);
      }
      super.broadcast(packet, opts);
    }
  };
}
