import type { PresenceChange, PresenceMember, PresenceSnapshot } from '@roomwire/shared';

/**
 * Who is present in a service, as `client.presence(service)` resolves it: a real `Array` of
 * `{ userId, connections }` (so `.find`, `.map` and `.length` work) that also carries the cluster-wide
 * totals. Above the server's `PRESENCE_MAX_MEMBERS` the list is empty and `countsOnly` is `true`: only
 * `users` and `connections` are known.
 *
 * The totals are own, read-only, non-enumerable properties: they do not show in `JSON.stringify`,
 * spreads or `toEqual`, and arrays derived with `.map`/`.filter` are plain arrays without them.
 */
export interface PresenceList extends Array<PresenceMember> {
  /** Distinct users present, cluster-wide (also above the member cap). */
  readonly users: number;
  /** Their connections, summed, cluster-wide (also above the member cap). */
  readonly connections: number;
  /** `true` when the service has more users than the server lists: the array is then empty. */
  readonly countsOnly: boolean;
}

/** The totals a {@link PresenceList} carries beside its members. */
export interface PresenceTotals {
  users: number;
  connections: number;
  countsOnly: boolean;
}

/** A {@link PresenceList} of `members` (copied) with the given totals. */
export function presenceList(members: readonly PresenceMember[], totals: PresenceTotals): PresenceList {
  const list: PresenceMember[] = members.map((m) => ({ userId: m.userId, connections: m.connections }));
  return Object.defineProperties(list, {
    users: { value: totals.users, enumerable: false, writable: false, configurable: false },
    connections: { value: totals.connections, enumerable: false, writable: false, configurable: false },
    countsOnly: { value: totals.countsOnly, enumerable: false, writable: false, configurable: false },
  }) as PresenceList;
}

/** The client's shape of a `rw:presence` answer: `members: null` (counts only) becomes an empty list. */
export function presenceListOf(snapshot: Pick<PresenceSnapshot, 'users' | 'connections' | 'members'>): PresenceList {
  return presenceList(snapshot.members ?? [], {
    users: snapshot.users,
    connections: snapshot.connections,
    countsOnly: snapshot.members === null,
  });
}

/**
 * `list` with one `rw:presence-change` applied at once, as `usePresence` shows it until the next read
 * gives exact counts: a join adds the user with 1 connection, a leave removes it with its connections.
 * Counts only, the totals move and the list stays empty. Answers `list` itself when nothing changes.
 */
export function applyPresenceChange(list: PresenceList, change: PresenceChange): PresenceList {
  const known = list.find((m) => m.userId === change.userId);
  if (change.type === 'join') {
    if (known) return list;
    const members = list.countsOnly ? [] : [...list, { userId: change.userId, connections: 1 }];
    return presenceList(members, { users: list.users + 1, connections: list.connections + 1, countsOnly: list.countsOnly });
  }
  if (!list.countsOnly && !known) return list;
  return presenceList(
    list.filter((m) => m.userId !== change.userId),
    {
      users: Math.max(0, list.users - 1),
      connections: Math.max(0, list.connections - (known?.connections ?? 1)),
      countsOnly: list.countsOnly,
    },
  );
}
