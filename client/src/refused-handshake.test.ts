import { shouldRetryRefusal } from './socket-connection';

test('a refused handshake is retried only when the next try may be accepted', () => {
  // A token function can bring a fresh token: retried on every code but an unknown protocol version.
  expect(shouldRetryRefusal('RW_ERR_UNAUTHORIZED', true)).toBe(true);
  expect(shouldRetryRefusal('RW_ERR_TOKEN_EXPIRED', true)).toBe(true);
  expect(shouldRetryRefusal(undefined, true)).toBe(true);
  expect(shouldRetryRefusal('RW_ERR_UNSUPPORTED_PROTOCOL', true)).toBe(false);
  // A static token: only a refusal the server may lift by itself.
  expect(shouldRetryRefusal('RW_ERR_UNAVAILABLE', false)).toBe(true);
  expect(shouldRetryRefusal('RW_ERR_RATE_LIMITED', false)).toBe(true);
  expect(shouldRetryRefusal('RW_ERR_DRAINING', false)).toBe(true);
  expect(shouldRetryRefusal('RW_ERR_UNAUTHORIZED', false)).toBe(false);
  expect(shouldRetryRefusal('RW_ERR_TOKEN_EXPIRED', false)).toBe(false);
  expect(shouldRetryRefusal(undefined, false)).toBe(false);
});
