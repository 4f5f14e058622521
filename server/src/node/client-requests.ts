import {
  EVENTS,
  RoomwireError,
  findEvent,
  isClientPublishable,
  isValidName,
  serviceRoom,
  type CatalogDefinition,
  type ClientPublishAck,
  type RefreshAck,
} from '@roomwire/shared';
import { canPublishTo, canSeeService } from '../auth/claims';
import type { TokenVerifier } from '../auth/verify-token';
import { sendToSocket } from '../delivery/send-to-socket';
import type { PublishFn } from '../publish/publish-pipeline';
import { safePreview } from '../safe-preview';
import { TokenBucket } from '../limits/token-bucket';
import { servicesOf } from './subscriptions';
import type { RoomwireSocket } from './types';

/** What `rw:refresh` and `rw:publish` need from the node. */
export interface ClientRequestContext {
  verify: TokenVerifier;
  catalog: CatalogDefinition;
  /** The node's publish path (validation, envelope, batching, idempotency, stream or pub/sub). */
  publish: PublishFn;
  /** Token bucket of each connection's publishes, or `undefined` for no limit. */
  publishLimit: { ratePerSecond: number; burst: number } | undefined;
  /** Counts a publish refused by the limit (metrics). */
  onLimited(): void;
}

/**
 * `rw:refresh { token }`: verifies a fresh token and swaps the connection's claims for its claims,
 * without reconnecting. The new token must be for the same org (a connection's org fixes its
 * partition and rooms). Service rooms the new token no longer allows are left; each is reported in a
 * `rw:error` `RW_ERR_FORBIDDEN` notice (sent before the ack) and listed in the ack's `left`. A refused
 * token changes nothing: the connection keeps its claims until they expire.
 */
export async function refreshClaims(socket: RoomwireSocket, body: unknown, verify: TokenVerifier): Promise<RefreshAck> {
  const token = typeof body === 'object' && body !== null ? (body as { token?: unknown }).token : undefined;
  if (typeof token !== 'string' || token.length === 0) throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'refresh takes { token }, a non-empty string');
  const claims = await verify(token);
  const { org } = socket.data.claims;
  if (claims.org !== org) throw new RoomwireError('RW_ERR_FORBIDDEN', `the new token is for org ${safePreview(claims.org)}, not for this connection's org; reconnect to change orgs`);
  const left = servicesOf(socket.rooms, org).filter((service) => !canSeeService(claims, service));
  socket.data.claims = claims;
  for (const service of left) {
    socket.leave(serviceRoom(org, service));
    sendToSocket(socket, EVENTS.error, { code: 'RW_ERR_FORBIDDEN', message: `the refreshed token no longer allows service "${service}": the connection left it` });
  }
  return { ok: true, exp: claims.exp ?? 0, left };
}

/**
 * Serves `rw:publish { service, type, data }`: an event a client sends. Checked in this order: the shape
 * (`RW_ERR_INVALID_REQUEST`), the connection's rate (`RW_ERR_RATE_LIMITED`), the catalog
 * (`RW_ERR_UNKNOWN_EVENT`), whether clients may send the type and the token's `publish` claim allows
 * the service (`RW_ERR_FORBIDDEN`), then the node's publish path, which validates `data` against the
 * same schema as any publish (`RW_ERR_INVALID_PAYLOAD`, `RW_ERR_PAYLOAD_TOO_LARGE`). The envelope's org
 * and `sub` come from the verified token, never from the request.
 */
export function createClientPublish(ctx: ClientRequestContext): {
  publish(socket: RoomwireSocket, body: unknown): Promise<ClientPublishAck>;
  forget(socket: RoomwireSocket): void;
} {
  // One bucket per connection that has published, dropped when it disconnects (bounded by connections).
  const buckets = new WeakMap<RoomwireSocket, TokenBucket>();
  const take = (socket: RoomwireSocket): void => {
    const limit = ctx.publishLimit;
    if (limit === undefined) return;
    let bucket = buckets.get(socket);
    if (bucket === undefined) {
      bucket = new TokenBucket(limit.ratePerSecond, limit.burst);
      buckets.set(socket, bucket);
    }
    const waitMs = bucket.take();
    if (waitMs > 0) {
      ctx.onLimited();
      const seconds = Math.max(1, Math.ceil(waitMs / 1000));
      throw new RoomwireError('RW_ERR_RATE_LIMITED', `too many events sent on this connection (at most ${limit.ratePerSecond}/s, bursts of ${limit.burst}); retry in ${seconds} s`, { retryAfterSeconds: seconds });
    }
  };
  return {
    async publish(socket, body) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'publish takes { service, type, data }');
      const { service, type, data } = body as { service?: unknown; type?: unknown; data?: unknown };
      if (!isValidName(service)) throw new RoomwireError('RW_ERR_INVALID_REQUEST', `invalid service name ${safePreview(service)}`);
      if (typeof type !== 'string') throw new RoomwireError('RW_ERR_INVALID_REQUEST', 'type must be a string');
      take(socket);
      const definition = findEvent(ctx.catalog, service, type);
      if (definition === undefined) throw new RoomwireError('RW_ERR_UNKNOWN_EVENT', `unknown event type ${safePreview(service)}/${safePreview(type)}`);
      if (!isClientPublishable(definition)) throw new RoomwireError('RW_ERR_FORBIDDEN', `clients may not send ${service}/${type} (the catalog does not mark it clientPublish)`);
      const { claims } = socket.data;
      if (!canPublishTo(claims, service)) throw new RoomwireError('RW_ERR_FORBIDDEN', `the token does not allow sending events to service "${service}" (publish claim)`);
      const result = await ctx.publish({ org: claims.org, service, type, data, ...(claims.sub === undefined ? {} : { sub: claims.sub }) });
      return { ok: true, id: result.id, offset: result.offset };
    },
    forget: (socket) => void buckets.delete(socket),
  };
}
