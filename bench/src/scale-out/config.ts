import type { PublishRateOptions } from './publish-rate';
import type { ReadRatioOptions } from './read-ratio';
import { ROUTING_MODES } from './read-ratio';
import type { WindowMemoryOptions } from './window-memory';

type WithoutLog<T> = Omit<T, 'log'>;

/** The sizes of one scale-out run. */
export interface ScaleOutConfig {
  mode: 'full' | 'quick';
  readRatio: WithoutLog<ReadRatioOptions>;
  windowMemory: WithoutLog<WindowMemoryOptions>;
  publishRate: WithoutLog<PublishRateOptions>;
}

/** Payload of every event: about 200 B of JSON. */
const PAYLOAD_BYTES = 200;

/** The full run (about 4-5 minutes): the 4 nodes, 16 partitions, 1 000 orgs; a 5-minute window at 3 333 events/s. */
export const FULL_SCALE_OUT: ScaleOutConfig = {
  mode: 'full',
  readRatio: { nodes: 4, streamPartitions: 16, orgs: 1000, clientsPerOrg: 2, eventsPerSecond: 1000, publishMs: 10_000, payloadBytes: PAYLOAD_BYTES, modes: ROUTING_MODES },
  // 3 333/s × 300 s = 1 M entries; 200 000 are written and the rest extrapolated from the bytes per entry.
  windowMemory: { masters: 3, streamPartitions: 16, orgs: 10_000, eventsPerSecond: 3333, windowS: 300, maxEntries: 200_000, payloadBytes: PAYLOAD_BYTES, concurrency: 256 },
  publishRate: {
    shapes: [{ kind: 'standalone' }, { kind: 'cluster', masters: 3 }],
    paths: ['http', 'library'],
    nodes: 2,
    streamPartitions: 16,
    orgs: 1000,
    concurrency: 128,
    durationMs: 15_000,
    payloadBytes: PAYLOAD_BYTES,
  },
};

/** The quick run (about a minute): fewer orgs, shorter phases, a smaller window (extrapolated). */
export const QUICK_SCALE_OUT: ScaleOutConfig = {
  mode: 'quick',
  readRatio: { ...FULL_SCALE_OUT.readRatio, orgs: 200, eventsPerSecond: 500, publishMs: 3000 },
  windowMemory: { ...FULL_SCALE_OUT.windowMemory, maxEntries: 20_000 },
  publishRate: { ...FULL_SCALE_OUT.publishRate, durationMs: 3000 },
};
