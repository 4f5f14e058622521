import {
  RoomwireError,
  findEvent,
  isValidName,
  orgRoom,
  parseServiceRoom,
  serviceRoom,
  type CatalogDefinition,
  type FailureAck,
} from '@roomwire/shared';
import { canSeeService, type Claims } from '../auth/claims';
import { safePreview } from '../safe-preview';

/**
 * Checks the `services` of a subscribe, unsubscribe or resume request against the catalog and the
 * token's claims, and returns them de-duplicated; throws a {@link RoomwireError} otherwise.
 */
export function checkServices(body: unknown, claims: Claims, catalog: CatalogDefinition, maxServices: number): string[] {
  const services = checkServiceNames(body, maxServices);
  for (const service of services) {
    if (!isKnownService(catalog, service)) throw new RoomwireError('RW_ERR_UNKNOWN_EVENT', `unknown service "${service}"`);
    if (!canSeeService(claims, service)) throw new RoomwireError('RW_ERR_FORBIDDEN', `the token does not allow service "${service}"`);
  }
  return services;
}

/** Checks the shape of `services` and the names in it, and returns them de-duplicated. */
export function checkServiceNames(body: unknown, maxServices: number): string[] {
  const services = typeof body === 'object' && body !== null ? (body as { services?: unknown }).services : undefined;
  if (!Array.isArray(services) || services.length === 0 || services.length > maxServices) {
    throw new RoomwireError('RW_ERR_INVALID_REQUEST', `services must be a list of 1 to ${maxServices} service names`);
  }
  const unique = [...new Set(services)];
  for (const service of unique) {
    if (!isValidName(service)) throw new RoomwireError('RW_ERR_INVALID_REQUEST', `invalid service name ${safePreview(service)}`);
  }
  return unique as string[];
}

/** The rooms a socket of `claims` is in for `services` (the org room included). */
export function roomsFor(claims: Claims, services: string[]): string[] {
  return [orgRoom(claims.org), ...services.map((s) => serviceRoom(claims.org, s))];
}

/** The services a socket is subscribed to, read from its rooms. */
export function servicesOf(rooms: Iterable<string>, org: string): string[] {
  const services: string[] = [];
  for (const room of rooms) {
    const parsed = parseServiceRoom(room);
    if (parsed && parsed.org === org) services.push(parsed.service);
  }
  return services;
}

/** Turns anything thrown into the failure ack of a request. */
export function failureAck(err: unknown): FailureAck {
  if (err instanceof RoomwireError) return { ok: false, error: err.toJSON() };
  return { ok: false, error: { code: 'RW_ERR_INTERNAL', message: 'internal error' } };
}

function isKnownService(catalog: CatalogDefinition, service: string): boolean {
  const events = Object.prototype.hasOwnProperty.call(catalog, service) ? catalog[service] : undefined;
  return events !== undefined && Object.keys(events).some((type) => findEvent(catalog, service, type) !== undefined);
}
