import type { EventEnvelope, PlainFrame } from '@roomwire/shared';
import type { AppendOptions, AppendResult } from '../stream/event-log';
import { frameOf, type ValidatedPublish } from '../publish/publish-request';

/** Adaptive batching: how long and how much to coalesce per room. */
export interface BatchingOptions {
  /** After a room's first event, later events within this window share one frame, in ms. @default 20 */
  batchWindowMs?: number;
  /** Most events in one frame. @default 100 */
  maxBatchEvents?: number;
  /** Most bytes (JSON of the envelopes) in one frame. @default 65536 */
  maxBatchBytes?: number;
  /**
   * Events of an idle room that are sent at once, each in a frame of its own, before its window holds
   * events back: 1 holds every event after the first. At 2, a room that gets a few events a second (the
   * common case: many orgs, a low rate in each) never waits for a window, while a burst is still
   * coalesced from its third event on. @default 2
   */
  leadingEvents?: number;
}

/** Defaults of {@link BatchingOptions}. */
export const batchingDefaults: Required<BatchingOptions> = { batchWindowMs: 20, maxBatchEvents: 100, maxBatchBytes: 65_536, leadingEvents: 2 };

/** Checks batching options; a bad one is a programmer error. */
export function resolveBatchingOptions(options: BatchingOptions | false | undefined, owner: string): Required<BatchingOptions> | false {
  if (options === false) return false;
  const defined = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined));
  const resolved = { ...batchingDefaults, ...defined };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${owner}: batching.${key} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return resolved;
}

/** Stores one frame for one room (the event log's append). */
export type AppendFn = (room: string, frame: PlainFrame, options: AppendOptions) => Promise<AppendResult>;

interface Pending {
  envelope: EventEnvelope;
  bytes: number;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

interface RoomState {
  queue: Pending[];
  bytes: number;
  /** Set while the room's window is open: events then wait for the window's end. */
  timer: ReturnType<typeof setTimeout> | null;
  /** Events of this window sent at once (a window after a busy one sends none at once). */
  leading: number;
}

/**
 * Coalesces bursts per room before the stream, without delaying a lone event: the first event after an
 * idle period is sent at once and opens a window; the next `leadingEvents - 1` events inside it are sent
 * at once too (a room with a few events a second never waits), later ones are sent together when it
 * ends (or earlier, when the frame is full). A window that held events back opens another that holds
 * back every event, so a steady stream flows as one frame per window; a window that held none back lets
 * the room go idle.
 *
 * One frame is one stream entry and one recovery offset. Order within a room is kept: frames are
 * appended in order on one connection. Volatile events and events with an idempotency key are not
 * coalesced (the key guards exactly one event); they flush what the room had queued first.
 */
export class RoomBatcher {
  readonly #append: AppendFn;
  readonly #opts: Required<BatchingOptions>;
  readonly #rooms = new Map<string, RoomState>();

  constructor(append: AppendFn, options: Required<BatchingOptions>) {
    this.#append = append;
    this.#opts = options;
  }

  /** Number of rooms with an open window. */
  get openRooms(): number {
    return this.#rooms.size;
  }

  /** Publishes one validated event; resolves with the result of the frame that carried it. */
  submit(event: ValidatedPublish & { bytes: number }): Promise<AppendResult> {
    const { room } = event;
    let state = this.#rooms.get(room);
    if (event.volatile || event.idempotencyKey !== undefined) {
      if (state) this.#flush(room, state);
      return this.#append(room, frameOf([event.envelope]), appendOptions(event));
    }
    if (!state) {
      // Leading edge: an idle room sends at once and opens a window for what follows.
      state = { queue: [], bytes: 0, timer: null, leading: 1 };
      this.#rooms.set(room, state);
      this.#openWindow(room, state);
      return this.#append(room, frameOf([event.envelope]), { volatile: false });
    }
    if (state.queue.length === 0 && state.leading < this.#opts.leadingEvents) {
      // Not a burst yet: nothing is queued, so sending now keeps the room's order.
      state.leading += 1;
      return this.#append(room, frameOf([event.envelope]), { volatile: false });
    }
    if (state.queue.length > 0 && state.bytes + event.bytes > this.#opts.maxBatchBytes) this.#flush(room, state);
    return new Promise<AppendResult>((resolve, reject) => {
      const current = state as RoomState;
      current.queue.push({ envelope: event.envelope, bytes: event.bytes, resolve, reject });
      current.bytes += event.bytes;
      if (current.queue.length >= this.#opts.maxBatchEvents || current.bytes >= this.#opts.maxBatchBytes) this.#flush(room, current);
    });
  }

  /** Sends everything queued, in every room, and closes all windows. */
  async flushAll(): Promise<void> {
    const sending: Promise<unknown>[] = [];
    for (const [room, state] of this.#rooms) {
      if (state.timer) clearTimeout(state.timer);
      sending.push(this.#flush(room, state));
    }
    this.#rooms.clear();
    await Promise.allSettled(sending);
  }

  #openWindow(room: string, state: RoomState): void {
    state.timer = setTimeout(() => {
      if (state.queue.length === 0) {
        this.#rooms.delete(room);
        return;
      }
      void this.#flush(room, state);
      // The room is busy: the next window holds back every event.
      state.leading = this.#opts.leadingEvents;
      this.#openWindow(room, state);
    }, this.#opts.batchWindowMs);
  }

  #flush(room: string, state: RoomState): Promise<unknown> {
    const batch = state.queue;
    if (batch.length === 0) return Promise.resolve();
    state.queue = [];
    state.bytes = 0;
    return this.#append(room, frameOf(batch.map((p) => p.envelope)), { volatile: false }).then(
      (result) => batch.forEach((p) => p.resolve(result)),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  }
}

/** Why: idempotency keys are chosen by each org's services; one org's key must not swallow another's event. */
export function idempotencyScope(event: ValidatedPublish): string {
  return `${event.envelope.org}/${event.idempotencyKey ?? ''}`;
}

function appendOptions(event: ValidatedPublish): AppendOptions {
  return event.idempotencyKey === undefined
    ? { volatile: event.volatile }
    : { volatile: event.volatile, idempotency: { key: idempotencyScope(event), eventId: event.envelope.id } };
}
