import { createClient, type RoomwireClient } from '@roomwire/client';

/** Counters of the connect/disconnect churn. */
export interface ChurnStats {
  created: number;
  /** Clients that reached `connected` before their life ended. */
  connected: number;
  closed: number;
  /** Connects that were due while {@link ChurnOptions.maxClients} were alive, and were skipped. */
  skippedAtCap: number;
  /** Errors the server reported to churn clients (refused handshakes, rate limits, ...). */
  errors: number;
  /** Most churn clients alive at once. */
  peakAlive: number;
}

/** Options of {@link startChurn}. */
export interface ChurnOptions {
  urls: readonly string[];
  orgs: readonly string[];
  token(org: string): string;
  /** New clients per second. */
  connectsPerSecond: number;
  /** Most clients alive at once. */
  maxClients: number;
  /** Shortest and longest life of a client, in ms. */
  minLifetimeMs: number;
  maxLifetimeMs: number;
  /** No client is created after this timestamp (ms since the epoch). */
  untilMs: number;
}

/** A running churn. */
export interface Churn {
  readonly stats: ChurnStats;
  alive(): number;
  /** Stops creating clients and closes every live one. */
  stop(): Promise<void>;
}

const TICK_MS = 20;

/**
 * Creates `connectsPerSecond` short-lived clients (alternating nodes, random org, subscribed to one of the
 * soak services from the handshake), each closed after a random life; at most `maxClients` alive.
 */
export function startChurn(options: ChurnOptions): Churn {
  const stats: ChurnStats = { created: 0, connected: 0, closed: 0, skippedAtCap: 0, errors: 0, peakAlive: 0 };
  const alive = new Map<RoomwireClient, NodeJS.Timeout>();
  let stopped = false;

  const end = (client: RoomwireClient): void => {
    const timer = alive.get(client);
    if (timer === undefined) return;
    clearTimeout(timer);
    alive.delete(client);
    client.close();
    stats.closed += 1;
  };

  const spawnOne = (): void => {
    if (alive.size >= options.maxClients) {
      stats.skippedAtCap += 1;
      return;
    }
    const org = options.orgs[Math.floor(Math.random() * options.orgs.length)] as string;
    const client = createClient({
      url: options.urls[stats.created % options.urls.length] as string,
      token: options.token(org),
      services: [Math.random() < 0.5 ? 'billing' : 'tickets'],
      minReconnectDelayMs: 200,
      maxReconnectDelayMs: 1000,
      exposeGlobal: false,
    });
    stats.created += 1;
    let connected = false;
    client.onState(({ to }) => {
      if (to === 'connected' && !connected) {
        connected = true;
        stats.connected += 1;
      }
    });
    client.onError(() => (stats.errors += 1));
    const lifeMs = options.minLifetimeMs + Math.random() * (options.maxLifetimeMs - options.minLifetimeMs);
    alive.set(client, setTimeout(() => end(client), lifeMs));
    stats.peakAlive = Math.max(stats.peakAlive, alive.size);
  };

  const loop = (async () => {
    const startedAt = Date.now();
    let carried = 0;
    for (let tick = 0; !stopped && Date.now() < options.untilMs; tick++) {
      const wait = startedAt + tick * TICK_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (stopped) break;
      carried += (options.connectsPerSecond * TICK_MS) / 1000;
      for (; carried >= 1; carried -= 1) spawnOne();
    }
  })();

  return {
    stats,
    alive: () => alive.size,
    async stop() {
      stopped = true;
      await loop;
      for (const client of [...alive.keys()]) end(client);
    },
  };
}
