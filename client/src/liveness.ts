/**
 * Notices a node that went silent: a Roomwire node sends every connection something at least every
 * `HEARTBEAT_MS` (an Engine.IO `noop` to a connection that was sent nothing), so a connection that has
 * heard nothing for `timeoutMs` is taken for dead (its node frozen or cut off) and closed, and the
 * Socket.IO Manager reconnects, elsewhere if the node is gone.
 *
 * Why here and not Engine.IO's ping: a frozen node noticed within seconds needed a ping (and a pong
 * written back) every few seconds on every connection, busy or not; now a busy connection costs nothing
 * but a counter bumped per packet, and an idle one a one-byte packet it does not answer.
 *
 * One timer per process checks every watched connection (a page or a load test with thousands of
 * clients runs one timer, not thousands). A check sees only whether the counter moved since the last
 * one, so a check that runs late (a throttled background tab) still judges by what arrived.
 */
export interface LivenessWatch {
  /** Call on every packet received. */
  heard(): void;
  /** Stops watching (the connection is closed for good). */
  stop(): void;
}

interface Watched {
  timeoutMs: number;
  /** A number that moves whenever something arrives, where the transport has one (bytes read); else `undefined`. */
  progress: (() => number | undefined) | undefined;
  /** Whether the connection is open now (only open connections are judged). */
  isOpen(): boolean;
  onSilent(): void;
  count: number;
  seen: number;
  silentSinceMs: number;
}

/**
 * How often the shared timer checks, in ms. A check sees only that something arrived since the last
 * one, so a silence is seen to start up to one check late and called up to one check after the timeout:
 * at most two checks (1 s) past `timeoutMs` in all.
 */
const CHECK_EVERY_MS = 500;

const watched = new Set<Watched>();
let timer: ReturnType<typeof setInterval> | undefined;

function check(): void {
  const now = Date.now();
  for (const w of watched) {
    const count = w.progress?.() ?? w.count;
    if (count !== w.seen || !w.isOpen()) {
      w.seen = count;
      w.silentSinceMs = now;
      continue;
    }
    if (now - w.silentSinceMs >= w.timeoutMs) {
      // Judged once per silence: the next judgement starts from now.
      w.silentSinceMs = now;
      w.onSilent();
    }
  }
}

/**
 * Watches one connection: `onSilent` is called when it is open and nothing was heard for `timeoutMs`.
 * What was heard is `progress()` where it gives a number (in Node, the bytes the TCP socket has read:
 * nothing to do per packet), else the count of `heard()` calls.
 *
 * @example
 * const watch = watchLiveness(6000, () => engine.readyState === 'open', () => engine.close());
 * engine.on('heartbeat', watch.heard);
 */
export function watchLiveness(timeoutMs: number, isOpen: () => boolean, onSilent: () => void, progress?: () => number | undefined): LivenessWatch {
  const entry: Watched = { timeoutMs, progress, isOpen, onSilent, count: 0, seen: 0, silentSinceMs: Date.now() };
  watched.add(entry);
  if (timer === undefined) {
    timer = setInterval(check, CHECK_EVERY_MS);
    // In Node, a client alone must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
  }
  return {
    heard: () => {
      entry.count += 1;
    },
    stop: () => {
      watched.delete(entry);
      if (watched.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  };
}
