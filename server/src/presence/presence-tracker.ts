import { orgOfRoom, parseServiceRoom } from '@roomwire/shared';
import type { Logger } from 'pino';
import type { RoomwireServer } from '../node/types';
import type { PresenceEngine } from './presence-engine';

/** Options of {@link startPresenceTracker}. */
export interface PresenceTrackerOptions {
  io: RoomwireServer;
  engine: PresenceEngine;
  /** The partition of an org. */
  partitionOf(org: string): number;
  /** The partitions this node reads now (it sweeps them for dead nodes). */
  partitionsRead(): number[];
  /** Partitions in all (a few more are swept each round, so dead nodes' keys never stay for good). */
  partitionCount: number;
  /** Interval of this node's heartbeat, in ms; other nodes sweep its members within 3 of them after it dies. */
  heartbeatMs: number;
  logger: Logger;
}

/** A running tracker. */
export interface PresenceTracker {
  /** Members on this node, per service name (distinct users of every org, and their connections). */
  localCounts(): Record<string, { users: number; connections: number }>;
  /** Stops the timers, waits for the changes in flight and removes this node's members from the store. */
  stop(): Promise<void>;
}

/**
 * Most (room, user) writes kept for a retry while the store is away. Beyond it the node forgets them and,
 * once the store answers again, removes its whole share and writes it again from its own counts.
 */
const MAX_PENDING_WRITES = 50_000;

/** Extra partitions swept per round besides those the node reads or has members in. */
const EXTRA_SWEEPS_PER_ROUND = 4;

/** Why: only the service rooms of a socket whose token names a user count as presence. */
function presenceUserOf(io: RoomwireServer, socketId: string): string | undefined {
  const sub = io.of('/').sockets.get(socketId)?.data.claims?.sub;
  return typeof sub === 'string' && sub.length > 0 ? sub : undefined;
}

/**
 * Follows the sockets of this node in and out of service rooms (the adapter's `join-room` and
 * `leave-room`: subscribe, resume, restore, unsubscribe and disconnect all pass there) and keeps this
 * node's connection count per (room, user) in the presence engine, heartbeating and sweeping on a timer.
 * The node's own counts are the truth for its share: a count the store lost (Redis restarted, or this
 * node was swept while frozen) is written again from them.
 */
export function startPresenceTracker(options: PresenceTrackerOptions): PresenceTracker {
  const { io, engine, logger } = options;
  const nsp = io.of('/');
  /** This node's connections per room and user. Bounded by the node's sockets and their rooms. */
  const local = new Map<string, Map<string, number>>();
  /** Member sockets: their user and the service rooms they count in. */
  const sockets = new Map<string, { userId: string; rooms: Set<string> }>();
  /** (room, user) pairs whose count did not reach the store; written again on the next heartbeat. */
  const dirty = new Map<string, { room: string; userId: string }>();
  const inFlight = new Set<Promise<unknown>>();
  const lostPartitions = new Set<number>();
  /** Set when pending writes overflowed: the node's share must be replaced as a whole. */
  let overflowed = false;
  /** Partitions where this node has had members (at most the partition count). */
  const touched = new Set<number>();
  let stopped = false;
  let sweepCursor = 0;

  const track = (work: Promise<unknown>): void => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const write = (room: string, userId: string): void => {
    const count = local.get(room)?.get(userId) ?? 0;
    const key = `${room}\n${userId}`;
    dirty.delete(key);
    track(
      engine.set(room, userId, count).then(
        ({ wasAlive }) => {
          if (!wasAlive) lostPartitions.add(options.partitionOf(orgOfRoom(room)));
        },
        (err: unknown) => {
          if (overflowed || dirty.size >= MAX_PENDING_WRITES) {
            overflowed = true;
            dirty.clear();
          } else {
            dirty.set(key, { room, userId });
          }
          logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'presence change not stored; retried on the next heartbeat');
        },
      ),
    );
  };
  const adjust = (room: string, userId: string, delta: number): void => {
    let users = local.get(room);
    const next = (users?.get(userId) ?? 0) + delta;
    if (next > 0) {
      touched.add(options.partitionOf(orgOfRoom(room)));
      if (users === undefined) local.set(room, (users = new Map()));
      users.set(userId, next);
    } else if (users !== undefined) {
      users.delete(userId);
      if (users.size === 0) local.delete(room);
    }
    if (!stopped) write(room, userId);
  };

  /**
   * A socket counts in a room once it is connected: a session restored by Socket.IO rejoins its rooms
   * in the socket's constructor, before its handshake is checked (no claims yet, not in `nsp.sockets`);
   * those rooms are counted when it connects.
   */
  const onJoin = (room: string, id: string): void => {
    if (parseServiceRoom(room) === undefined) return;
    const userId = presenceUserOf(io, id);
    if (userId === undefined) return;
    let member = sockets.get(id);
    if (member === undefined) sockets.set(id, (member = { userId, rooms: new Set() }));
    if (member.rooms.has(room)) return;
    member.rooms.add(room);
    adjust(room, userId, 1);
  };
  const onLeave = (room: string, id: string): void => {
    const member = sockets.get(id);
    if (member === undefined || !member.rooms.delete(room)) return;
    if (member.rooms.size === 0) sockets.delete(id);
    adjust(room, member.userId, -1);
  };
  const onConnection = (socket: { id: string; rooms: Set<string> }): void => {
    for (const room of socket.rooms) onJoin(room, socket.id);
  };
  nsp.adapter.on('join-room', onJoin);
  nsp.adapter.on('leave-room', onLeave);
  nsp.on('connection', onConnection);

  const localPartitions = (): number[] => {
    const set = new Set<number>();
    for (const room of local.keys()) set.add(options.partitionOf(orgOfRoom(room)));
    return [...set];
  };
  /** Writes every local count of the partitions whose share the store lost. */
  const rewrite = (partitions: Iterable<number>): void => {
    const wanted = new Set(partitions);
    if (wanted.size === 0) return;
    for (const [room, users] of local) {
      if (!wanted.has(options.partitionOf(orgOfRoom(room)))) continue;
      for (const userId of users.keys()) write(room, userId);
    }
  };

  const beat = async (): Promise<void> => {
    if (overflowed) {
      // Rejects (and so waits for the next heartbeat) while the store is still away.
      await engine.leave([...touched]);
      overflowed = false;
      rewrite(touched);
      return;
    }
    const mine = localPartitions();
    const lost = mine.length > 0 ? await engine.heartbeat(mine) : [];
    const again = new Set([...lost, ...lostPartitions]);
    lostPartitions.clear();
    if (again.size > 0) logger.warn({ partitions: [...again] }, 'this node had been taken for dead in the presence store: writing its members again');
    rewrite(again);
    for (const { room, userId } of [...dirty.values()]) write(room, userId);
  };
  const sweep = async (): Promise<void> => {
    const partitions = new Set([...options.partitionsRead(), ...localPartitions()]);
    for (let i = 0; i < Math.min(EXTRA_SWEEPS_PER_ROUND, options.partitionCount); i++) {
      partitions.add(sweepCursor);
      sweepCursor = (sweepCursor + 1) % options.partitionCount;
    }
    await engine.sweep([...partitions]);
  };
  const guard = (what: string, run: () => Promise<void>) => (): void => {
    if (stopped) return;
    track(run().catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, `presence ${what} failed`)));
  };
  const heartbeatTimer = setInterval(guard('heartbeat', beat), options.heartbeatMs);
  heartbeatTimer.unref();
  // Twice per heartbeat: a dead node's users leave within 3 heartbeats of its last one (liveness is 2).
  const sweepTimer = setInterval(guard('sweep', sweep), Math.max(1, Math.floor(options.heartbeatMs / 2)));
  sweepTimer.unref();

  return {
    localCounts() {
      const out: Record<string, { users: Set<string>; connections: number }> = {};
      for (const [room, users] of local) {
        const parsed = parseServiceRoom(room);
        if (parsed === undefined) continue;
        const entry = (out[parsed.service] ??= { users: new Set(), connections: 0 });
        for (const [userId, count] of users) {
          entry.users.add(`${parsed.org}\n${userId}`);
          entry.connections += count;
        }
      }
      return Object.fromEntries(Object.entries(out).map(([service, v]) => [service, { users: v.users.size, connections: v.connections }]));
    },
    async stop() {
      if (stopped) return;
      clearInterval(heartbeatTimer);
      clearInterval(sweepTimer);
      // The sockets' leaves (io.close() disconnects them) were written as they came; wait for them.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      stopped = true;
      nsp.adapter.off('join-room', onJoin);
      nsp.adapter.off('leave-room', onLeave);
      nsp.off('connection', onConnection);
      const partitions = [...touched];
      local.clear();
      sockets.clear();
      dirty.clear();
      if (partitions.length > 0) await engine.leave(partitions).catch(() => undefined);
    },
  };
}
