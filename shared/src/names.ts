/**
 * Org and service names become parts of room names (`org:{org}:svc:{service}`), so they are limited
 * to a small safe alphabet: letters, digits, `_` and `-`, starting with a letter or digit, at most 64
 * characters. `:` can never appear, which rules out room-name injection.
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Maximum length of an org or service name. */
export const MAX_NAME_LENGTH = 64;

/** Why: a name outside the safe alphabet could forge another room's name. */
export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name);
}

/** The room of org-wide notices: every socket of the org joins it. */
export function orgRoom(org: string): string {
  return `org:${org}`;
}

/** The room of one service of one org: sockets join it by subscribing. */
export function serviceRoom(org: string, service: string): string {
  return `org:${org}:svc:${service}`;
}

/** Parses a service room name back into its parts; `undefined` for any other room. */
export function parseServiceRoom(room: string): { org: string; service: string } | undefined {
  const parts = room.split(':');
  if (parts.length !== 4 || parts[0] !== 'org' || parts[2] !== 'svc') return undefined;
  const [, org, , service] = parts as [string, string, string, string];
  return isValidName(org) && isValidName(service) ? { org, service } : undefined;
}

/** The org of an org or service room (`org:{org}` or `org:{org}:svc:{service}`); `''` for any other room. */
export function orgOfRoom(room: string): string {
  if (!room.startsWith('org:')) return '';
  const end = room.indexOf(':', 4);
  return end < 0 ? room.slice(4) : room.slice(4, end);
}
