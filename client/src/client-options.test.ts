import { clientDefaults, resolveClientOptions } from './client-options';

test('resolving only url and token gives the documented defaults', () => {
  expect(resolveClientOptions({ url: 'http://x', token: 't' })).toEqual({
    url: 'http://x',
    token: 't',
    services: [],
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    minReconnectDelayMs: 1000,
    maxReconnectDelayMs: 30_000,
    randomizationFactor: 0.5,
    dedupTtlMs: 300_000,
    dedupMaxEntries: 10_000,
  });
  // The cap is far below the replay window, so a reconnecting client comes back before it closes.
  expect(clientDefaults.maxReconnectDelayMs * 5).toBeLessThan(clientDefaults.dedupTtlMs);
});

test.each([
  [{ url: '', token: 't' }, /url/],
  [{ url: 'http://x', token: 3 }, /token/],
  [{ url: 'http://x', token: 't', randomizationFactor: 2 }, /randomizationFactor/],
  [{ url: 'http://x', token: 't', minReconnectDelayMs: 5000, maxReconnectDelayMs: 1000 }, /minReconnectDelayMs/],
])('bad options throw a TypeError: %#', (options, message) => {
  expect(() => resolveClientOptions(options as never)).toThrow(message);
});
