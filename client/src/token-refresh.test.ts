import { refreshDelayMs } from './token-refresh';

const jwt = (claims: object): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

test('a token is refreshed after the given share of its remaining life, within bounds set by its lifetime (exp − iat)', () => {
  const token = jwt({ iat: 1000, exp: 1005 });
  expect(refreshDelayMs(token, 0.8, 1_000_000)).toBe(4000);
  // Fetched half a second after its (whole-second) iat: 80 % of the 4.5 s it has left.
  expect(refreshDelayMs(token, 0.8, 1_000_500)).toBe(3600);
  // A device clock 10 s behind cannot postpone it past 80 % of the lifetime; one far ahead not before 40 %.
  expect(refreshDelayMs(token, 0.8, 990_000)).toBe(4000);
  expect(refreshDelayMs(token, 0.8, 2_000_000)).toBe(2000);
  // Without iat: the remaining life alone; already expired: at once.
  expect(refreshDelayMs(jwt({ exp: 2000 }), 0.5, 1_990_000)).toBe(5000);
  expect(refreshDelayMs(jwt({ exp: 1 }), 0.8, 5000)).toBe(0);
});

test('a token without a readable exp is never refreshed ahead of time', () => {
  for (const token of ['opaque', 'a.b.c', jwt({ sub: 'x' }), jwt({ exp: 'soon' }), `e30.${'!'.repeat(10)}.x`]) expect(refreshDelayMs(token, 0.8, 0)).toBeUndefined();
});
