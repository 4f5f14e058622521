/**
 * The bench's lean protocol-level load client (bench/src/load/lean-client.ts) against real systems: a
 * real redis-server, a real Roomwire node and a real baseline Socket.IO server, events published by the
 * bench's own publisher process. It must see every event once, in order, with its publish time, in
 * plain frames, batched frames and compressed (binary) frames.
 */
import { SignJWT } from 'jose';
import { PROTOCOL_VERSION } from '@roomwire/shared';
import { waitUntil } from './harness';
import { openLeanClient, scanDeliveries, type LeanClient, type LeanJoin } from '../bench/src/load/lean-client';
import type { ClientHooks } from '../bench/src/load/bench-client';
import { orgOf, roomName, SERVICE, tagOf } from '../bench/src/publish/payload';
import type { Schedule } from '../bench/src/publish/schedule';
import { startSystem, type RunningSystem } from '../bench/src/systems/running-system';

const RECONNECT = { minDelayMs: 100, maxDelayMs: 500, jitter: 0.5 };

describe('scanDeliveries', () => {
  it('finds each envelope\'s ts and amountCents, in order, in Roomwire and baseline packets', () => {
    const env = (ts: number, amount: number): string =>
      JSON.stringify({ id: `e${amount}`, org: 'bench-0001', service: 'billing', type: 'invoice.paid', ts, data: { invoiceId: 'in_1_2___', amountCents: amount } });
    const found: [number, number][] = [];
    const push = (ts: number, amount: number): void => void found.push([ts, amount]);
    expect(scanDeliveries(`42["rw:event",{"events":[${env(1718000000950, 7)},${env(1718000000951.5, 8)}]},"1718000000950-0"]`, push)).toBe(2);
    expect(scanDeliveries(`42["event",${env(1718000000999, 9)},"1718000000999-3"]`, push)).toBe(1);
    expect(found).toEqual([
      [1718000000950, 7],
      [1718000000951.5, 8],
      [1718000000999, 9],
    ]);
    expect(scanDeliveries('42["rw:position",{"epoch":"x"},"1-0"]', push)).toBe(0);
  });
});

interface Received {
  ts: number;
  amountCents: number;
  at: number;
}

/** A lean client into `room` whose deliveries land in the returned array. */
function openRecording(url: string, join: LeanJoin, up: { count: number }): { client: LeanClient; received: Received[] } {
  const received: Received[] = [];
  const hooks: ClientHooks = {
    onEvent: (ts, data) => received.push({ ts, amountCents: (data as { amountCents: number }).amountCents, at: Date.now() }),
    onUp: () => (up.count += 1),
    onDown: () => (up.count -= 1),
    onResync: () => undefined,
  };
  return { client: openLeanClient({ url, room: 0, reconnect: RECONNECT }, join, hooks), received };
}

describe.each(['roomwire', 'baseline'] as const)('lean client against %s', (name) => {
  let system: RunningSystem;
  const clients: LeanClient[] = [];
  let phase = 0;

  beforeAll(async () => {
    system = await startSystem(name, { nodeCount: 1 });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await system?.stop();
  });

  async function join(): Promise<LeanJoin> {
    if (name === 'baseline') return { kind: 'baseline', room: roomName(0) };
    const token = await new SignJWT({ org: orgOf(0), services: [SERVICE] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(system.jwtSecret));
    return { kind: 'roomwire', token, services: [SERVICE], protocolVersion: PROTOCOL_VERSION };
  }

  /** Publishes `schedule` through the bench's publisher and waits until the client holds `count` deliveries of it. */
  async function publishAndReceive(schedule: Schedule, count: number): Promise<{ client: LeanClient; received: Received[]; phase: number; startedAt: number }> {
    const up = { count: 0 };
    const { client, received } = openRecording((system.nodes[0] as RunningSystem['nodes'][number]).url, await join(), up);
    clients.push(client);
    await waitUntil(() => up.count === 1, { what: `the lean ${name} client to be up`, timeoutMs: 20_000 });
    phase += 1;
    const run = await system.publisher.call('run', { phase, schedule, startAt: Date.now() + 50 });
    expect(run.failed).toBe(0);
    await waitUntil(() => received.length >= count, { what: `${count} deliveries to the lean ${name} client (has ${received.length})`, timeoutMs: 20_000 });
    return { client, received, phase, startedAt: run.startedAt };
  }

  it('receives lone events once, in order, with their publish time', async () => {
    const { received, phase: p, startedAt } = await publishAndReceive({ kind: 'spread', eventsPerSecond: 100, durationMs: 200, rooms: 1, seed: 1, payloadBytes: 200 }, 20);
    expect(received.map((r) => tagOf({ amountCents: r.amountCents }))).toEqual(Array.from({ length: 20 }, (_, seq) => ({ phase: p, seq })));
    for (const r of received) {
      expect(r.ts).toBeGreaterThanOrEqual(startedAt - 5);
      expect(r.ts).toBeLessThanOrEqual(r.at + 5);
    }
  });

  it('receives a burst (batched and, on Roomwire, compressed frames) once and in order', async () => {
    const { client, received, phase: p } = await publishAndReceive({ kind: 'bursts', periodMs: 100, eventsPerRoom: 60, roomsPerBurst: 1, durationMs: 100, rooms: 1 }, 60);
    expect(received.map((r) => tagOf({ amountCents: r.amountCents }))).toEqual(Array.from({ length: 60 }, (_, seq) => ({ phase: p, seq })));
    const stats = client.stats();
    expect(stats.connections).toBe(1);
    // Roomwire batches the burst into frames of ≥ 2 KiB, sent compressed; the baseline sends one packet per event.
    if (name === 'roomwire') expect(stats.compressedFrames).toBeGreaterThan(0);
    else expect(stats.eventPackets).toBe(60);
  });
});
