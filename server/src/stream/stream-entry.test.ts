import { inflateRawSync } from 'node:zlib';
import type { PlainFrame } from '@roomwire/shared';
import { wireFrameOf } from './frame-codec';
import { decodeEntry, encodeEventPacket, frameFields } from './stream-entry';

const frame = (n: number): PlainFrame => ({
  events: Array.from({ length: n }, (_, i) => ({ id: `id-${i}`, org: 'acme', service: 'billing', type: 'invoice.paid', ts: 1000 + i, data: { invoiceId: `in_${i}`, amountCents: i } })),
});

test('small frames are stored as JSON; large ones as raw DEFLATE in base64, and both decode to the frame', () => {
  const small = frameFields('org:acme:svc:billing', frame(1), { minBytes: 512 });
  expect(small).toEqual(['r', 'org:acme:svc:billing', 'n', '1', 't', '1000', 'f', JSON.stringify(frame(1))]);
  const large = frameFields('org:acme:svc:billing', frame(20), { minBytes: 512 });
  expect(large[6]).toBe('z');
  expect((large[7] as string).length).toBeLessThan(JSON.stringify(frame(20)).length / 2);
  const decoded = decodeEntry(large);
  if (decoded === undefined || decoded === 'heartbeat') throw new Error('not a frame');
  expect(decoded).toMatchObject({ rooms: ['org:acme:svc:billing'], events: 20, firstTs: 1000, json: undefined });
  expect(JSON.parse(inflateRawSync(decoded.deflated as Buffer).toString('utf8'))).toEqual(frame(20));
  expect(frameFields('r', frame(20), { minBytes: 0 })[6]).toBe('f');
});

test('an entry decodes to its frame, a heartbeat to "heartbeat", anything else to nothing', () => {
  const decoded = decodeEntry(frameFields('org:acme:svc:billing', frame(2), { minBytes: 0 }));
  if (decoded === undefined || decoded === 'heartbeat') throw new Error('not a frame');
  expect(decoded.frame()).toEqual(frame(2));
  expect(decodeEntry(['h', 'node-1'])).toBe('heartbeat');
  expect(decodeEntry(['uid', 'emitter', 'nsp', '/', 'type', '3', 'data', '{}'])).toBeUndefined();
  expect(decodeEntry(['r', 'x', 'n', 'zero', 't', '1', 'f', '{}'])).toBeUndefined();
});

test('the packet a node sends is what socket.io-parser would encode, plain or binary', () => {
  const plain = decodeEntry(frameFields('org:a:svc:b', frame(1), { minBytes: 0 }));
  const deflated = decodeEntry(frameFields('org:a:svc:b', frame(20), { minBytes: 512 }));
  if (typeof plain !== 'object' || typeof deflated !== 'object') throw new Error('not frames');
  expect(encodeEventPacket(plain, '5-1')).toEqual([`2["rw:event",${JSON.stringify(frame(1))},"5-1"]`]);
  const [head, bytes] = encodeEventPacket(deflated, '5-2');
  expect(head).toBe('51-["rw:event",{"n":20,"z":{"_placeholder":true,"num":0}},"5-2"]');
  expect(bytes).toBe(deflated.deflated);
});

test('in memory, large frames travel as bytes', () => {
  const wire = wireFrameOf(frame(20), { minBytes: 512 });
  expect('z' in wire && Buffer.isBuffer(wire.z)).toBe(true);
  expect(wireFrameOf(frame(1), { minBytes: 512 })).toEqual(frame(1));
});
