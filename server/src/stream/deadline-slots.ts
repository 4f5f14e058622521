import { setMaxListeners } from 'node:events';

/** Why a command was given up: no reply within its deadline. */
export class DeadlineExpired extends Error {}

interface Slot {
  readonly controller: AbortController;
  /** Rejections of the slot's commands still waiting (`undefined` once settled). */
  readonly waiting: (((err: Error) => void) | undefined)[];
}

/**
 * Deadlines for many commands at the cost of a few: the commands whose deadlines fall in the same
 * `granularityMs` share one timer and one abort signal. A command started at `t` expires at the end of
 * the slot holding `t + timeoutMs`, so between `timeoutMs` and `timeoutMs + granularityMs` after it
 * started: its promise rejects with {@link DeadlineExpired}, and its abort signal fires (node-redis then
 * drops it if it was not written yet).
 *
 * Why: an append used to get an `AbortController`, a timer and a deadline promise of its own, about a
 * sixth of a publisher's CPU per event (docs/benchmarks.md); slots cost that once per `granularityMs`.
 * A settled command leaves nothing behind but an empty place in its slot's list (no reply is kept).
 *
 * @example
 * const deadlines = new DeadlineSlots(5000, 50);
 * const reply = await deadlines.run((signal) => redis.send(command, { abortSignal: signal }));
 */
export class DeadlineSlots {
  readonly #timeoutMs: number;
  readonly #granularityMs: number;
  /** Open slots by the number of their end (in units of `granularityMs`); at most timeout ÷ granularity + 1. */
  readonly #slots = new Map<number, Slot>();

  constructor(timeoutMs: number, granularityMs: number) {
    if (!(timeoutMs > 0) || !(granularityMs > 0)) throw new TypeError('DeadlineSlots: timeoutMs and granularityMs must be positive');
    this.#timeoutMs = timeoutMs;
    this.#granularityMs = granularityMs;
  }

  /** Number of slots with a timer running. */
  get open(): number {
    return this.#slots.size;
  }

  /** Starts a command with the abort signal of its slot; settles as it does, or rejects at the deadline. */
  run<T>(start: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const slot = this.#current();
    return new Promise<T>((resolve, reject) => {
      const at = slot.waiting.push(reject) - 1;
      const settle = (): void => {
        slot.waiting[at] = undefined;
      };
      let running: Promise<T>;
      try {
        running = start(slot.controller.signal);
      } catch (err) {
        running = Promise.reject(err);
      }
      running.then(
        (value) => {
          settle();
          resolve(value);
        },
        (err: unknown) => {
          settle();
          reject(err);
        },
      );
    });
  }

  #current(): Slot {
    const end = Math.ceil((Date.now() + this.#timeoutMs) / this.#granularityMs);
    const slot = this.#slots.get(end);
    if (slot !== undefined) return slot;
    const created: Slot = { controller: new AbortController(), waiting: [] };
    // node-redis listens on the signal of each command not yet written: many at once is the point here.
    setMaxListeners(0, created.controller.signal);
    this.#slots.set(end, created);
    setTimeout(() => {
      this.#slots.delete(end);
      const err = new DeadlineExpired(`no reply from Redis within ${this.#timeoutMs} ms`);
      created.controller.abort(err);
      for (const reject of created.waiting) reject?.(err);
    }, end * this.#granularityMs - Date.now());
    return created;
  }
}
