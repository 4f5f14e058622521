import { deflateRawSync } from 'node:zlib';
import type { EventEnvelope, PlainFrame } from '@roomwire/shared';
import { waitUntil } from '../../test/harness';
import { createFrameDecoder, inflateFrame } from './frame-decoder';

const plain = (...ids: string[]): PlainFrame => ({ events: ids.map((id) => ({ id, org: 'a', service: 'billing', type: 'invoice.paid', ts: 0, data: {} })) });
const compressed = (...ids: string[]) => ({ n: ids.length, z: deflateRawSync(JSON.stringify(plain(...ids))) });

test('in Node, compressed frames are inflated at once, in order', () => {
  const seen: string[] = [];
  const decode = createFrameDecoder<undefined>((events) => seen.push(...events.map((e) => e.id)), (err) => {
    throw err;
  });
  decode(plain('a'), undefined, undefined);
  decode(compressed('b', 'c'), undefined, undefined);
  decode(plain('d'), undefined, undefined);
  expect(seen).toEqual(['a', 'b', 'c', 'd']);
});

test('the streams inflater (browsers) reads the same bytes', async () => {
  expect((await inflateFrame(compressed('x', 'y'))).map((e) => e.id)).toEqual(['x', 'y']);
});

test('while a frame is being inflated asynchronously, later frames wait: order is kept', async () => {
  const seen: string[] = [];
  const contexts: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const decode = createFrameDecoder<number>((events: EventEnvelope[], context) => {
    seen.push(...events.map((e) => e.id));
    contexts.push(context);
    if (seen.length === 6) done();
  }, (err) => { throw err; }, { syncInflate: undefined });
  decode(plain('a'), 1, undefined);
  expect(seen).toEqual(['a']);
  decode(compressed('b', 'c'), 2, undefined);
  decode(plain('d'), 3, undefined);
  decode(compressed('e', 'f'), 4, undefined);
  expect(seen).toEqual(['a']);
  await finished;
  expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  expect(contexts).toEqual([1, 2, 3, 4]);
  // Once the queue has drained, plain frames are synchronous again.
  await new Promise((resolve) => setImmediate(resolve));
  decode(plain('g'), 5, undefined);
  expect(seen[seen.length - 1]).toBe('g');
});

test('a compressed frame that is not a frame of envelopes is reported, not delivered', async () => {
  const errors: unknown[] = [];
  const delivered: EventEnvelope[] = [];
  const decode = createFrameDecoder<undefined>((events) => delivered.push(...events), (err) => errors.push(err), { syncInflate: undefined });
  decode({ n: 1, z: deflateRawSync('{"nope":1}') }, undefined, undefined);
  decode(plain('after'), undefined, undefined);
  await waitUntil(() => delivered.length === 1, { what: 'the frame after the bad one' });
  expect(errors).toHaveLength(1);
  expect(delivered.map((e) => e.id)).toEqual(['after']);
});
