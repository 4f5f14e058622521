import { inflateRawSync } from 'node:zlib';
import type { PlainFrame } from '@roomwire/shared';
import { splitBroadcast, encodeBroadcast, decodeDurableFrame } from './adapter-message';
import { storedCompressed, storedFrameJson, wireFrameOf } from './frame-codec';

const frame = (n: number): PlainFrame => ({
  events: Array.from({ length: n }, (_, i) => ({ id: `id-${i}`, org: 'acme', service: 'billing', type: 'invoice.paid', ts: 1000 + i, data: { invoiceId: `in_${i}`, amountCents: i } })),
});

test('small frames stay JSON; large ones are stored as raw DEFLATE in base64 and inflate back', () => {
  expect(storedFrameJson(frame(1), { minBytes: 512 })).toBe(JSON.stringify(frame(1)));
  const stored = storedFrameJson(frame(20), { minBytes: 512 });
  const parts = storedCompressed(stored);
  expect(parts?.n).toBe(20);
  expect(JSON.parse(inflateRawSync(parts?.bytes as Buffer).toString('utf8'))).toEqual(frame(20));
  expect(stored.length).toBeLessThan(JSON.stringify(frame(20)).length / 2);
  expect(storedFrameJson(frame(20), { minBytes: 0 })).toBe(JSON.stringify(frame(20)));
  expect(storedCompressed(JSON.stringify(frame(20)))).toBeUndefined();
});

test('in memory, large frames travel as bytes', () => {
  const wire = wireFrameOf(frame(20), { minBytes: 512 });
  expect('z' in wire && Buffer.isBuffer(wire.z)).toBe(true);
  expect(wireFrameOf(frame(1), { minBytes: 512 })).toEqual(frame(1));
});

test('a stream entry is valid JSON in the adapter format, and the fast path cuts the same frame out of it', () => {
  for (const n of [1, 20]) {
    const fields = encodeBroadcast('org:acme:svc:billing', frame(n), { minBytes: 512 });
    const message = JSON.parse(fields.data as string) as { packet: { data: unknown[] }; opts: { rooms: string[] } };
    expect(message.packet.data[0]).toBe('rw:event');
    expect(message.opts.rooms).toEqual(['org:acme:svc:billing']);
    const split = splitBroadcast(fields);
    expect(split).toMatchObject({ rooms: ['org:acme:svc:billing'], events: n, firstTs: 1000 });
    const wire = split?.frame();
    const slow = decodeDurableFrame(fields)?.frame;
    expect(wire).toEqual(slow);
    if (n === 1) expect(wire).toEqual(frame(1));
    else expect(JSON.parse(inflateRawSync((wire as { z: Uint8Array }).z).toString("utf8"))).toEqual(frame(20));
  }
});
