/** The systems a run compares. */
export const SYSTEM_NAMES = ['roomwire', 'roomwire-nobatch', 'baseline'] as const;

/**
 * Systems only the suite (`npm run bench -- suite`) compares: plain Socket.IO on the Redis pub/sub
 * adapter, without recovery.
 */
export const SUITE_ONLY_SYSTEM_NAMES = ['baseline-pubsub'] as const;

/** The systems the suite compares, by default. */
export const SUITE_SYSTEM_NAMES = ['roomwire', 'baseline', 'baseline-pubsub'] as const;

/** One of {@link SYSTEM_NAMES} or {@link SUITE_ONLY_SYSTEM_NAMES}. */
export type SystemName = (typeof SYSTEM_NAMES)[number] | (typeof SUITE_ONLY_SYSTEM_NAMES)[number];

/** Whether a system is plain Socket.IO (a baseline server, emitter and client) rather than Roomwire. */
export function isPlainSocketIo(system: SystemName): system is 'baseline' | 'baseline-pubsub' {
  return system === 'baseline' || system === 'baseline-pubsub';
}

/** The system every ratio is taken against. */
export const BASELINE: SystemName = 'baseline';

/** Adaptive batching of the Roomwire publisher and nodes. */
export interface BatchingConfig {
  batchWindowMs: number;
  maxBatchEvents: number;
  maxBatchBytes: number;
  leadingEvents: number;
}

/** Roomwire's documented batching defaults, set explicitly so that the run says what it measured. */
export const ROOMWIRE_BATCHING: BatchingConfig = { batchWindowMs: 20, maxBatchEvents: 100, maxBatchBytes: 65_536, leadingEvents: 2 };

/** The batching a system runs with; `false` for no batching (and for the baseline, which has none). */
export function batchingOf(system: SystemName): BatchingConfig | false {
  return system === 'roomwire' ? ROOMWIRE_BATCHING : false;
}

/** What each system is, for the report. */
export const SYSTEM_DESCRIPTIONS: Record<SystemName, string> = {
  roomwire: `Roomwire, 2 nodes (server CLI), publisher \`createPublisher\` with batching ${ROOMWIRE_BATCHING.batchWindowMs} ms / ${ROOMWIRE_BATCHING.maxBatchEvents} events / ${ROOMWIRE_BATCHING.maxBatchBytes} bytes / ${ROOMWIRE_BATCHING.leadingEvents} leading events; \`@roomwire/client\` clients`,
  'roomwire-nobatch': 'Roomwire, 2 nodes (server CLI) with `BATCH_WINDOW_MS=0`, publisher `createPublisher({ batching: false })`; `@roomwire/client` clients',
  baseline:
    'Plain Socket.IO 4.8, 2 servers on `@socket.io/redis-streams-adapter` (node-redis, defaults) with connection-state recovery; publisher: a Socket.IO server with the same adapter and no HTTP listener (`io.to(room).emit`); plain socket.io-client clients',
  'baseline-pubsub':
    'Plain Socket.IO 4.8 on `@socket.io/redis-adapter` (Redis pub/sub, node-redis, defaults), no connection-state recovery; publisher: a Socket.IO server with the same adapter and no HTTP listener (`io.to(room).emit`); plain socket.io-client clients',
};

/** Parses a comma-separated list of system names; throws on an unknown one. */
export function parseSystems(list: string): SystemName[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const name of names) {
    if (![...SYSTEM_NAMES, ...SUITE_ONLY_SYSTEM_NAMES].includes(name as SystemName)) {
      throw new Error(`unknown system ${JSON.stringify(name)}; expected some of ${[...SYSTEM_NAMES, ...SUITE_ONLY_SYSTEM_NAMES].join(', ')}`);
    }
  }
  return [...new Set(names)] as SystemName[];
}
