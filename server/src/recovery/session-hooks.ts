import { isValidOffset } from '@roomwire/shared';
import type { Adapter } from 'socket.io-adapter';
import type { Logger } from 'pino';
import type { EventLog } from '../stream/event-log';
import type { SessionStore } from './session-store';
import { RESTORE_KEY, type SocketState } from '../node/socket-state';

/** What the session hooks need: where sessions live, and each session's partition (from its id). */
export interface SessionHookDeps {
  store: SessionStore;
  /** The log of the partition a session id belongs to; `undefined` for an id no partition owns. */
  logOf(pid: string): EventLog | undefined;
  /** The epoch this node's reader is in for the partition of a session id (`''` when unknown). */
  epochOf(pid: string): string;
  logger: Logger;
  track(saving: Promise<void>): void;
}

/**
 * Replaces the adapter's session persistence and restore with Roomwire's: sessions live for the replay
 * window, and a restore only vouches for the session. The missed range is not read here but by
 * `replayInto` after the handshake is authenticated, so nothing is sent to a socket before its token
 * is verified, and the replay joins the live stream without a gap.
 */
export function installSessionHooks(adapter: Adapter, deps: SessionHookDeps): void {
  const { store, logger } = deps;
  adapter.persistSession = (session) => {
    const saving = store
      .save({ sid: session.sid, pid: session.pid, rooms: session.rooms, data: session.data, epoch: deps.epochOf(session.pid) })
      .catch((err: unknown) => logger.warn({ err, pid: session.pid }, 'could not persist a session; its client will resume instead'));
    deps.track(saving);
  };
  adapter.restoreSession = async (pid, offset) => {
    if (typeof pid !== 'string' || !isValidOffset(offset)) return null as never;
    const log = deps.logOf(pid);
    if (log === undefined) return null as never;
    const session = await store.take(pid);
    if (!session) return null as never;
    const position = { epoch: session.epoch, offset };
    const recoverable = await log.canRecoverFrom(position);
    if (!recoverable.ok) return null as never;
    const data = (session.data ?? {}) as Partial<SocketState>;
    return {
      sid: session.sid,
      pid: session.pid,
      rooms: [],
      missedPackets: [],
      data: { ...data, [RESTORE_KEY]: { rooms: session.rooms, position } },
    };
  };
}
