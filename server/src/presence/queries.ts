import {
  DEFAULT_HISTORY_LIMIT,
  MAX_HISTORY_LIMIT,
  RoomwireError,
  isValidName,
  parseHistoryCursor,
  serviceRoom,
  type CatalogDefinition,
  type HistoryPage,
  type PresenceSnapshot,
} from '@roomwire/shared';
import type { Claims } from '../auth/claims';
import { checkServices } from '../node/subscriptions';
import { safePreview } from '../safe-preview';
import type { EventLog } from '../stream/event-log';
import type { PresenceEngine } from './presence-engine';

/** What presence and history requests read from. */
export interface QueryDeps {
  catalog: CatalogDefinition;
  engine: PresenceEngine;
  /** Above this many users, a service answers counts only. */
  maxMembers: number;
  /** The event log of an org's partition. */
  logOf(org: string): EventLog;
  /** The replay window: history is what the stream keeps for recovery. */
  replayWindowMs: number;
}

/** A validated history request. */
export interface HistoryArgs {
  service: string;
  limit: number;
  before: { offset: string; index: number } | undefined;
}

/** Presence and history, for sockets (checked against their token) and for the HTTP API (publish key). */
export interface Queries {
  /** `rw:presence`: the token must allow the service and name a user (`sub`). */
  presenceFor(claims: Claims, body: unknown): Promise<PresenceSnapshot>;
  /** `rw:history`: under the same authorization as a subscribe. */
  historyFor(claims: Claims, body: unknown): Promise<HistoryPage>;
  /** Presence of any org (the caller is trusted). */
  presence(org: string, service: string): Promise<PresenceSnapshot>;
  /** History of any org (the caller is trusted). */
  history(org: string, args: HistoryArgs): Promise<HistoryPage>;
  /** Checks `org` and `service` names against the catalog (HTTP). */
  checkTarget(org: unknown, service: unknown): { org: string; service: string };
  /** Checks the `limit` and `before` of a history request (`limit` undefined: the default). */
  checkHistoryArgs(service: string, limit: unknown, before: unknown): HistoryArgs;
}

function serviceOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null ? (body as { service?: unknown }).service : undefined;
}

/** Creates the presence and history queries of a node. */
export function createQueries(deps: QueryDeps): Queries {
  const checkOne = (claims: Claims, body: unknown): string => {
    const service = serviceOf(body);
    if (typeof service !== 'string') throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'the request must be { service }');
    return checkServices({ services: [service] }, claims, deps.catalog, 1)[0] as string;
  };
  const wrap = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof RoomwireError) throw err;
      throw new RoomwireError('RW_ERR_UNAVAILABLE', `${what} could not be read: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const queries: Queries = {
    async presenceFor(claims, body) {
      const service = checkOne(claims, body);
      if (claims.sub === undefined || claims.sub.length === 0) {
        throw new RoomwireError('RW_ERR_FORBIDDEN', 'presence needs a token whose `sub` claim names the user');
      }
      return queries.presence(claims.org, service);
    },
    async historyFor(claims, body) {
      const service = checkOne(claims, body);
      const { limit, before } = body as { limit?: unknown; before?: unknown };
      return queries.history(claims.org, queries.checkHistoryArgs(service, limit, before));
    },
    presence: (org, service) =>
      wrap('presence', async () => ({ service, ...(await deps.engine.read(serviceRoom(org, service), deps.maxMembers)) })),
    history: (org, args) =>
      wrap('history', async () => {
        const page = await deps.logOf(org).history(serviceRoom(org, args.service), {
          limit: args.limit,
          windowMs: deps.replayWindowMs,
          ...(args.before === undefined ? {} : { before: args.before }),
        });
        return { service: args.service, events: page.events, next: page.next };
      }),
    checkTarget(org, service) {
      if (!isValidName(org)) throw new RoomwireError('RW_ERR_INVALID_REQUEST', `invalid org name ${safePreview(org)}`);
      if (typeof service !== 'string') throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'service is required');
      const [checked] = checkServices({ services: [service] }, { org, services: '*' }, deps.catalog, 1);
      return { org, service: checked as string };
    },
    checkHistoryArgs(service, limit, before) {
      const n = limit === undefined ? DEFAULT_HISTORY_LIMIT : limit;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_HISTORY_LIMIT) {
        throw new RoomwireError('RW_ERR_INVALID_REQUEST', `limit must be an integer from 1 to ${MAX_HISTORY_LIMIT}, got ${safePreview(limit)}`);
      }
      let cursor: HistoryArgs['before'];
      if (before !== undefined && before !== null) {
        cursor = parseHistoryCursor(before);
        if (cursor === undefined) throw new RoomwireError('RW_ERR_INVALID_REQUEST', `before must be a cursor from a previous page (ms-seq or ms-seq:i), got ${safePreview(before)}`);
      }
      return { service, limit: n, before: cursor };
    },
  };
  return queries;
}
