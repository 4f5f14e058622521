import { createStateMachine, nextState, type ConnectionSignal, type ConnectionState, type StateChange } from './connection-state';

test.each<[ConnectionState, ConnectionSignal, ConnectionState]>([
  ['connecting', 'synced', 'connected'],
  ['connecting', 'retrying', 'connecting'],
  ['connecting', 'stopped', 'disconnected'],
  ['connected', 'retrying', 'reconnecting'],
  ['connected', 'stopped', 'disconnected'],
  ['reconnecting', 'retrying', 'reconnecting'],
  ['reconnecting', 'synced', 'connected'],
  ['reconnecting', 'stopped', 'disconnected'],
  ['disconnected', 'synced', 'disconnected'],
  ['disconnected', 'retrying', 'disconnected'],
])('%s + %s → %s', (from, signal, to) => {
  expect(nextState(from, signal)).toBe(to);
});

test('the machine emits { from, to } once per real change, never for a repeat', () => {
  const changes: StateChange[] = [];
  const machine = createStateMachine('connecting', (change) => changes.push(change));
  machine.apply('retrying');
  machine.apply('synced');
  machine.apply('synced');
  machine.apply('retrying');
  machine.apply('retrying');
  machine.apply('synced');
  machine.set('disconnected');
  machine.apply('synced');
  expect(changes).toEqual([
    { from: 'connecting', to: 'connected' },
    { from: 'connected', to: 'reconnecting' },
    { from: 'reconnecting', to: 'connected' },
    { from: 'connected', to: 'disconnected' },
  ]);
  expect(machine.state).toBe('disconnected');
});
