import { compareOffsets, isValidOffset, parseHistoryCursor } from './protocol';
import { isValidName, orgRoom, parseServiceRoom, serviceRoom } from './names';
import { isDeliveryFrame } from './envelope';

test('offsets compare numerically, by time then sequence, beyond 2^53', () => {
  expect(compareOffsets('1-0', '1-0')).toBe(0);
  expect(compareOffsets('9-0', '10-0')).toBeLessThan(0);
  expect(compareOffsets('10-2', '10-10')).toBeLessThan(0);
  expect(compareOffsets('1700000000000-1', '1700000000000-0')).toBeGreaterThan(0);
  expect(compareOffsets('1-18446744073709551615', '1-18446744073709551614')).toBeGreaterThan(0);
  expect(() => compareOffsets('abc', '1-0')).toThrow(TypeError);
});

test('only ms-seq offsets are valid', () => {
  expect(isValidOffset('1700000000000-0')).toBe(true);
  for (const bad of ['', '1', '1-', '-1', '1-0-0', '+', '(1-0', 1, null, '1-0 ', 'a-b']) expect(isValidOffset(bad)).toBe(false);
});

test('names are limited to a safe alphabet, so room names cannot be forged', () => {
  for (const good of ['acme', 'Acme_1', 'a-b', 'x'.repeat(64)]) expect(isValidName(good)).toBe(true);
  for (const bad of ['', 'acme:svc:billing', '../etc', 'a b', 'ünï', '-a', 'x'.repeat(65), 7, 'a\nb']) expect(isValidName(bad)).toBe(false);
  expect(orgRoom('acme')).toBe('org:acme');
  expect(serviceRoom('acme', 'billing')).toBe('org:acme:svc:billing');
  expect(parseServiceRoom('org:acme:svc:billing')).toEqual({ org: 'acme', service: 'billing' });
  expect(parseServiceRoom('org:acme')).toBeUndefined();
  expect(parseServiceRoom('org:acme:svc:billing:svc:x')).toBeUndefined();
});

test('delivery frames are checked before they are trusted', () => {
  const envelope = { id: 'e1', org: 'acme', service: 'billing', type: 'invoice.paid', ts: 1, data: {} };
  expect(isDeliveryFrame({ events: [envelope] })).toBe(true);
  expect(isDeliveryFrame({ events: [{ ...envelope, id: 1 }] })).toBe(false);
  expect(isDeliveryFrame({ events: 'x' })).toBe(false);
  expect(isDeliveryFrame('1-0')).toBe(false);
  expect(isDeliveryFrame(null)).toBe(false);
});

test('parseHistoryCursor reads ms-seq and ms-seq:i, and nothing else', () => {
  expect(parseHistoryCursor('1700000000000-3')).toEqual({ offset: '1700000000000-3', index: 0 });
  expect(parseHistoryCursor('1700000000000-3:17')).toEqual({ offset: '1700000000000-3', index: 17 });
  for (const bad of ['', '1', '1-0:', '1-0:x', '1-0:12345', ':1', '1-0:1:2', '+', '(1-0', 1, null, undefined, { offset: '1-0' }, '1-0 ']) {
    expect(parseHistoryCursor(bad)).toBeUndefined();
  }
});
