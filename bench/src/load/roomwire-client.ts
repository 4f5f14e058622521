import { createClient } from '@roomwire/client';
import { SERVICE } from '../publish/payload';
import type { BenchClient, ClientHooks, ClientTarget } from './bench-client';

/**
 * A `@roomwire/client` client subscribed to the benchmark service of its room's org, WebSocket only.
 * A reconnect counts as recovered when the client recorded a recovery and no resync.
 */
export function openRoomwireClient(target: ClientTarget, token: string, hooks: ClientHooks): BenchClient {
  const client = createClient({
    url: target.url,
    token: () => token,
    services: [SERVICE],
    transports: ['websocket'],
    minReconnectDelayMs: target.reconnect.minDelayMs,
    maxReconnectDelayMs: target.reconnect.maxDelayMs,
    randomizationFactor: target.reconnect.jitter,
  });
  let everUp = false;
  let recoveries = 0;
  let resyncs = 0;
  client.onEvent((envelope) => hooks.onEvent(envelope.ts, envelope.data));
  client.onResync(() => hooks.onResync());
  client.onState(({ to }) => {
    if (to === 'connected') {
      const { recovered, resynced } = client.metrics().recoveries;
      hooks.onUp(everUp && recovered > recoveries && resynced === resyncs);
      everUp = true;
      recoveries = recovered;
      resyncs = resynced;
    } else if (to === 'reconnecting') {
      hooks.onDown();
    }
  });
  return { close: () => client.close() };
}
