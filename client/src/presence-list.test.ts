import type { RoomwireClient } from './create-client';
import { applyPresenceChange, presenceList, presenceListOf, type PresenceList } from './presence-list';

test('an answer with members becomes a real array of them that carries the totals', () => {
  const list = presenceListOf({ users: 2, connections: 3, members: [{ userId: 'u_1', connections: 2 }, { userId: 'u_7', connections: 1 }] });
  expect(Array.isArray(list)).toBe(true);
  expect(list).toHaveLength(2);
  expect(list.find((m) => m.userId === 'u_1')?.connections).toBe(2);
  expect(list.map((m) => m.userId)).toEqual(['u_1', 'u_7']);
  expect([list.users, list.connections, list.countsOnly]).toEqual([2, 3, false]);
  // The totals stay out of the array's enumerable shape: equality, JSON and spreads see members only.
  expect(list).toEqual([{ userId: 'u_1', connections: 2 }, { userId: 'u_7', connections: 1 }]);
  expect(JSON.parse(JSON.stringify(list))).toEqual([{ userId: 'u_1', connections: 2 }, { userId: 'u_7', connections: 1 }]);
  expect(Object.keys(list)).toEqual(['0', '1']);
});

test('counts only (members null) becomes an empty array with countsOnly and the totals', () => {
  const list = presenceListOf({ users: 1500, connections: 1700, members: null });
  expect(Array.isArray(list)).toBe(true);
  expect(list).toHaveLength(0);
  expect([list.users, list.connections, list.countsOnly]).toEqual([1500, 1700, true]);
});

test('nobody present is an empty list that is not counts only', () => {
  const list = presenceListOf({ users: 0, connections: 0, members: [] });
  expect([list.length, list.users, list.connections, list.countsOnly]).toEqual([0, 0, 0, false]);
});

test('the totals are read-only and the members are copies of the input', () => {
  const input = [{ userId: 'u_1', connections: 1 }];
  const list: PresenceList = presenceList(input, { users: 1, connections: 1, countsOnly: false });
  expect(() => {
    (list as { users: number }).users = 9;
  }).toThrow(TypeError); // strict mode: a write to a non-writable property throws
  expect(list.users).toBe(1);
  input[0]!.connections = 5;
  expect(list[0]?.connections).toBe(1);
});

test('client.presence is typed as the list: array methods and totals compile', () => {
  type Answer = Awaited<ReturnType<RoomwireClient['presence']>>;
  const read = (a: Answer): [number, number, boolean, string | undefined] => [a.users, a.connections, a.countsOnly, a.find((m) => m.connections > 1)?.userId];
  expect(read(presenceListOf({ users: 1, connections: 2, members: [{ userId: 'u_1', connections: 2 }] }))).toEqual([1, 2, false, 'u_1']);
});

test('a join or leave applied to a list keeps it a list, with the totals moved', () => {
  const start = presenceListOf({ users: 1, connections: 2, members: [{ userId: 'u_1', connections: 2 }] });
  const joined = applyPresenceChange(start, { service: 'billing', type: 'join', userId: 'u_2' });
  expect(Array.isArray(joined)).toBe(true);
  expect(joined).toEqual([{ userId: 'u_1', connections: 2 }, { userId: 'u_2', connections: 1 }]);
  expect([joined.users, joined.connections, joined.countsOnly]).toEqual([2, 3, false]);
  expect(applyPresenceChange(joined, { service: 'billing', type: 'join', userId: 'u_2' })).toBe(joined);

  const left = applyPresenceChange(joined, { service: 'billing', type: 'leave', userId: 'u_1' });
  expect(left).toEqual([{ userId: 'u_2', connections: 1 }]);
  expect([left.users, left.connections, left.countsOnly]).toEqual([1, 1, false]);
  expect(applyPresenceChange(left, { service: 'billing', type: 'leave', userId: 'nobody' })).toBe(left);
});

test('counts only, a join or leave moves the totals and the list stays empty', () => {
  const start = presenceListOf({ users: 1500, connections: 1700, members: null });
  const joined = applyPresenceChange(start, { service: 'billing', type: 'join', userId: 'u_9' });
  expect([joined.length, joined.users, joined.connections, joined.countsOnly]).toEqual([0, 1501, 1701, true]);
  const left = applyPresenceChange(joined, { service: 'billing', type: 'leave', userId: 'u_3' });
  expect([left.length, left.users, left.connections, left.countsOnly]).toEqual([0, 1500, 1700, true]);
});
