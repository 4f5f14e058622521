import type { PlainFrame } from '@roomwire/shared';
import type { RedisHandle } from '../../server/src/stream/redis-client';
import type { PartitionKeys } from '../../server/src/stream/partitions';

/** A frame of one `billing` event of org `o` whose amount is `n`: what {@link storedAmounts} reads back. */
export function numberedFrame(n: number): PlainFrame {
  return { events: [{ id: `e${n}`, org: 'o', service: 'billing', type: 'invoice.paid', ts: Date.now(), data: { invoiceId: `in_${n}`, amountCents: n } }] };
}

/** The amounts of the numbered frames a partition's stream holds, in stream order (markers and heartbeats left out). */
export async function storedAmounts(client: RedisHandle, keys: PartitionKeys): Promise<number[]> {
  const entries = await client.send<[string, string[]][]>(keys.stream, ['XRANGE', keys.stream, '-', '+']);
  return entries.filter(([, fields]) => fields[0] === 'r').map(([, fields]) => Number(/"amountCents":(\d+)/.exec(String(fields[7]))?.[1]));
}
