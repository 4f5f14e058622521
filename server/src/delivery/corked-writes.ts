/** A writable stream that can be corked (a `net.Socket`). */
export interface Corkable {
  readonly writableCorked: number;
  cork(): void;
  uncork(): void;
}

/**
 * Coalesces the writes of one read: sockets are corked as they are first written to, and all uncorked
 * together once the code that is running now has finished (a microtask), so every frame a socket got
 * from one XREAD batch leaves in one `writev` instead of one `write` each. Order is kept (corking only
 * delays bytes on one socket, it never reorders them) and no latency is added when idle: a read of one
 * entry is sent as before, uncorked (the caller corks only for reads with several frames for one org:
 * frames of different orgs never share a socket). This is
 * natural batching: the busier the stream, the larger the reads and the fewer the system calls.
 *
 * @example
 * const corked = new CorkedWrites();
 * corked.cork(tcpSocket); // before writing; uncorked in a microtask
 */
export class CorkedWrites {
  readonly #corked: Corkable[] = [];
  readonly #release = (): void => this.release();

  /** Number of sockets corked now. */
  get size(): number {
    return this.#corked.length;
  }

  /** Corks `socket` until the current synchronous run ends. */
  cork(socket: Corkable): void {
    if (this.#corked.length === 0) queueMicrotask(this.#release);
    socket.cork();
    this.#corked.push(socket);
  }

  /** Uncorks every socket corked so far (also called by itself, in a microtask). */
  release(): void {
    const corked = this.#corked;
    for (let i = 0; i < corked.length; i++) (corked[i] as Corkable).uncork();
    corked.length = 0;
  }
}
