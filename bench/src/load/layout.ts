import type { ClientSpec } from './load-api';

/** How clients are spread over rooms, nodes and load workers. */
export interface LayoutOptions {
  clients: number;
  rooms: number;
  nodes: number;
  workers: number;
  /** Share of the clients the recovery storm cuts, e.g. 0.1. */
  cutFraction: number;
}

/**
 * Lays clients out so that every room has the same number of clients, split across both nodes (so
 * every delivery crosses the cluster path), with exactly `cutFraction` of each room's clients in the
 * cut group, those too spread over both nodes. Client `i` sits in room `i % rooms` as the `k`-th
 * client of that room (`k = ⌊i / rooms⌋`), on node `k % nodes`.
 *
 * @returns the clients of each worker
 */
export function layoutClients(options: LayoutOptions): ClientSpec[][] {
  const { clients, rooms, nodes, workers, cutFraction } = options;
  if (clients % rooms !== 0) throw new Error(`layoutClients: ${clients} clients do not fill ${rooms} rooms evenly`);
  const cutEvery = cutFraction > 0 ? Math.round(1 / cutFraction) : 0;
  const perWorker: ClientSpec[][] = Array.from({ length: workers }, () => []);
  for (let index = 0; index < clients; index++) {
    const room = index % rooms;
    const k = Math.floor(index / rooms);
    const cut = cutEvery > 0 && (k + room) % cutEvery === 0;
    perWorker[index % workers]?.push({ index, room, node: k % nodes, cut });
  }
  return perWorker;
}

/** Number of clients in each room. */
export function clientsPerRoom(options: Pick<LayoutOptions, 'clients' | 'rooms'>): number[] {
  return Array.from({ length: options.rooms }, () => options.clients / options.rooms);
}
