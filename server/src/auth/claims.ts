import { MAX_NAME_LENGTH, NAME_PATTERN } from '@roomwire/shared';
import { z } from 'zod';

const name = z.string().max(MAX_NAME_LENGTH).regex(NAME_PATTERN);

/** The claims Roomwire reads from a client token. */
export const claimsSchema = z.object({
  org: name,
  services: z.union([z.literal('*'), z.array(name).max(1000)]),
  /** Services whose client-publishable types (catalog `clientPublish`) this client may send; none when absent. */
  publish: z.union([z.literal('*'), z.array(name).max(1000)]).optional(),
  sub: z.string().max(256).optional(),
  exp: z.number().optional(),
});

/** What a verified client token allows. */
export type Claims = z.infer<typeof claimsSchema>;

/** Why: a socket joins only service rooms its token names (or all, with `"*"`). */
export function canSeeService(claims: Claims, service: string): boolean {
  return claims.services === '*' || claims.services.includes(service);
}

/** Why: a client sends events only to services its token's `publish` claim names (or all, with `"*"`). */
export function canPublishTo(claims: Claims, service: string): boolean {
  return claims.publish === '*' || (claims.publish?.includes(service) ?? false);
}
