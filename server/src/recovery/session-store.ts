import type { RedisHandle } from '../stream/redis-client';

/** What Socket.IO's connection-state recovery keeps of a disconnected socket, plus the stream epoch. */
export interface StoredSession {
  sid: string;
  pid: string;
  rooms: string[];
  data: unknown;
  epoch: string;
}

/** Where sessions of disconnected sockets wait for their client, for at most the replay window. */
export interface SessionStore {
  save(session: StoredSession): Promise<void>;
  /** Returns and deletes the session: a session is restored at most once. */
  take(pid: string): Promise<StoredSession | null>;
  close(): void;
}

/**
 * Sessions in Redis, so that a client can recover on any node; they expire with the window. `keyOf`
 * names a session's key (in its partition's slot), or `undefined` for an id no partition owns.
 */
export function redisSessionStore(redis: RedisHandle, keyOf: (pid: string) => string | undefined, ttlMs: number): SessionStore {
  return {
    async save(session) {
      const key = keyOf(session.pid);
      if (key !== undefined) await redis.send(key, ['SET', key, JSON.stringify(session), 'PX', String(ttlMs)]);
    },
    async take(pid) {
      const key = keyOf(pid);
      if (key === undefined) return null;
      const raw = await redis.send<string | null>(key, ['GETDEL', key]);
      return raw === null ? null : parseSession(raw);
    },
    close() {},
  };
}

/** Sessions in this process, for the lone in-memory node; expired ones are swept. */
export function memorySessionStore(ttlMs: number): SessionStore {
  const sessions = new Map<string, { session: StoredSession; expiresAt: number }>();
  const sweep = setInterval(() => {
    const now = Date.now();
    // Insertion order is expiry order (fixed TTL): stop at the first live one.
    for (const [pid, entry] of sessions) {
      if (entry.expiresAt > now) break;
      sessions.delete(pid);
    }
  }, Math.max(1000, Math.min(ttlMs, 60_000)));
  sweep.unref();
  return {
    async save(session) {
      sessions.delete(session.pid);
      sessions.set(session.pid, { session, expiresAt: Date.now() + ttlMs });
    },
    async take(pid) {
      const entry = sessions.get(pid);
      sessions.delete(pid);
      return entry && entry.expiresAt > Date.now() ? entry.session : null;
    },
    close() {
      clearInterval(sweep);
      sessions.clear();
    },
  };
}

function parseSession(raw: string): StoredSession | null {
  try {
    const value = JSON.parse(raw) as StoredSession;
    return typeof value.sid === 'string' && typeof value.pid === 'string' && Array.isArray(value.rooms) && typeof value.epoch === 'string'
      ? value
      : null;
  } catch {
    return null;
  }
}
