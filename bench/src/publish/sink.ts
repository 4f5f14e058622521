import type { BenchPayload } from './payload';

/** Where a publisher process sends events: Roomwire's publisher library or the baseline's emitter. */
export interface PublishSink {
  /** Publishes one event into room `room`; resolves when the system has accepted it (if it can tell). */
  emit(room: number, payload: BenchPayload): Promise<void> | void;
  close(): Promise<void>;
}
