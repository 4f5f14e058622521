import type { PresenceMember } from '@roomwire/shared';

/** A cluster-wide change of one user's presence in a service room: its first connection in, or its last out. */
export type PresenceChangeKind = 'join' | 'leave';

/** Who is in one service room, cluster-wide (`members` is `null` above the member cap). */
export interface RoomPresence {
  users: number;
  connections: number;
  members: PresenceMember[] | null;
}

/** Delivers a presence change to the local sockets of a room (volatile). */
export type PresenceDelivery = (room: string, userId: string, kind: PresenceChangeKind) => void;

/**
 * Where presence lives: the seam between the node's presence tracker and the store behind it (memory for
 * a lone node, Redis for a cluster), as the event log is for the stream. Each node tells the engine its own
 * connection count per (service room, user); the engine keeps the cluster-wide sum, and announces a change
 * to every node that reads the room's partition exactly once: when the sum leaves or reaches zero.
 */
export interface PresenceEngine {
  /**
   * Sets this node's number of connections of `userId` in `room` (absolute, so a repeat is harmless).
   * Resolves with the change it made cluster-wide (`null` for none), and whether this node was still known
   * as alive in the room's partition before the call (`false`: it had been swept as dead, or never joined).
   */
  set(room: string, userId: string, connections: number): Promise<{ change: PresenceChangeKind | null; wasAlive: boolean }>;
  /** Who is in `room`; above `maxMembers` users, counts only. Nodes found dead are swept first. */
  read(room: string, maxMembers: number): Promise<RoomPresence>;
  /** Keeps this node alive in `partitions`; resolves with those where it had been swept as dead. */
  heartbeat(partitions: readonly number[]): Promise<number[]>;
  /** Removes the members of nodes whose heartbeat expired in `partitions` (leave notices for their last users). */
  sweep(partitions: readonly number[]): Promise<void>;
  /** Removes this node's members from `partitions` at once (a clean shutdown). */
  leave(partitions: readonly number[]): Promise<void>;
}

/**
 * The engine of a lone node: counts in memory, changes delivered locally. Memory is bounded by the
 * node's own sockets (an entry per room and user with at least one connection).
 */
export function memoryPresenceEngine(deliver: PresenceDelivery): PresenceEngine {
  const rooms = new Map<string, Map<string, number>>();
  return {
    async set(room, userId, connections) {
      let users = rooms.get(room);
      const before = users?.get(userId) ?? 0;
      if (connections > 0) {
        if (users === undefined) rooms.set(room, (users = new Map()));
        users.set(userId, connections);
      } else if (users !== undefined) {
        users.delete(userId);
        if (users.size === 0) rooms.delete(room);
      }
      const change = before === 0 && connections > 0 ? 'join' : before > 0 && connections === 0 ? 'leave' : null;
      if (change !== null) deliver(room, userId, change);
      return { change, wasAlive: true };
    },
    async read(room, maxMembers) {
      const users = rooms.get(room) ?? new Map<string, number>();
      let connections = 0;
      for (const count of users.values()) connections += count;
      const members = users.size > maxMembers ? null : [...users].map(([userId, count]) => ({ userId, connections: count }));
      return { users: users.size, connections, members };
    },
    heartbeat: async () => [],
    sweep: async () => undefined,
    leave: async () => undefined,
  };
}
