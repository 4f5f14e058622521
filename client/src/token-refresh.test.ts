import { refreshDelayMs } from './token-refresh';

const jwt = (claims: object): string => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

test('a token is refreshed after the given share of its lifetime, measured on the issuer clock when it has iat', () => {
  expect(refreshDelayMs(jwt({ iat: 1000, exp: 1005 }), 0.8, 999_999_999)).toBe(4000);
  expect(refreshDelayMs(jwt({ exp: 2000 }), 0.5, 1_990_000)).toBe(5000);
  // Already expired by the client's clock: at once.
  expect(refreshDelayMs(jwt({ exp: 1 }), 0.8, 5000)).toBe(0);
});

test('a token without a readable exp is never refreshed ahead of time', () => {
  for (const token of ['opaque', 'a.b.c', jwt({ sub: 'x' }), jwt({ exp: 'soon' }), `e30.${'!'.repeat(10)}.x`]) expect(refreshDelayMs(token, 0.8, 0)).toBeUndefined();
});
