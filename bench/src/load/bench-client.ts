import type { ReconnectPolicy } from './load-api';

/** What a load worker hears from one client, whatever the system. */
export interface ClientHooks {
  /** One delivered event (after the client library's own deduplication, if it has one). */
  onEvent(ts: number, data: unknown): void;
  /**
   * The client is connected and in its room. `recovered` is true when this is a reconnect whose
   * session was restored (missed events replayed); false on the first connect or when state was lost.
   */
  onUp(recovered: boolean): void;
  /** The connection dropped; the client reconnects by itself. */
  onDown(): void;
  /** The client was told that missed events cannot be replayed (Roomwire's `onResync`). */
  onResync(): void;
}

/** Where and how one client connects. */
export interface ClientTarget {
  url: string;
  room: number;
  reconnect: ReconnectPolicy;
}

/** A connected client of the system under test. */
export interface BenchClient {
  close(): void;
}
