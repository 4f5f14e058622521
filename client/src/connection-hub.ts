import type { ClientPublishRequest } from '@roomwire/shared';
import type { ResolvedClientOptions } from './client-options';
import { openConnection, type ConnectionHooks, type PublishedEvent, type QueryMap, type QueryName } from './socket-connection';

/** Who holds the connection: this client alone (Node, or sharing off), this tab for all tabs, or another tab. */
export type TabRole = 'standalone' | 'leader' | 'follower';

/** What a client does with what a connection delivers, whether it holds that connection or a leader tab relays it. */
export interface TabSink extends ConnectionHooks {
  role(role: TabRole): void;
}

/** Where a client's subscriptions go: its own connection, or the leader tab's. */
export interface ConnectionHub {
  /**
   * Declares every service this client wants. Resolves with the services the connection holds once it
   * has caught up with this declaration (the server confirmed it); rejects with a `RoomwireError` as
   * the connection's `reconcile()` does (`RW_ERR_CLOSED` once this hub is closed).
   */
  want(services: ReadonlySet<string>): Promise<ReadonlySet<string>>;
  /** Sends one event on the connection (through the leader tab when shared); see `SocketConnection.publish`. */
  publish(request: ClientPublishRequest): Promise<PublishedEvent>;
  /** Sends a read-only request (presence, history) on the connection, whichever tab holds it; resolves with its ack. */
  query<E extends QueryName>(event: E, request: QueryMap[E]['request']): Promise<QueryMap[E]['ack']>;
  /** Closes this client's part; a leader hands the connection over to another tab. */
  close(): void;
}

/**
 * A hub for one client that holds its own connection.
 *
 * @example
 * const hub = standaloneHub(opts, sink, new Set(['billing']));
 */
export function standaloneHub(opts: ResolvedClientOptions, sink: TabSink, initial: ReadonlySet<string>): ConnectionHub {
  let wanted = new Set(initial);
  sink.role('standalone');
  const connection = openConnection(opts, {
    wanted: () => wanted,
    position: null,
    hooks: {
      frame: (events, epoch, offset) => sink.frame(events, epoch, offset),
      position: (position, replace) => sink.position(position, replace),
      resync: (info) => sink.resync(info),
      error: (error) => sink.error(error),
      refused: (services, error) => {
        for (const service of services) wanted.delete(service);
        sink.refused(services, error);
      },
      status: (status) => sink.status(status),
      presence: (change) => sink.presence(change),
    },
  });
  return {
    want(services) {
      wanted = new Set(services);
      return connection.reconcile();
    },
    publish: (request) => connection.publish(request),
    query: (event, request) => connection.query(event, request),
    close: () => connection.close(),
  };
}
