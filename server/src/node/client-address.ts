import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';

/**
 * Which proxies in front of the node are trusted to report the client's address in
 * `X-Forwarded-For`: `false` (none: the TCP peer is the client), a number of proxy hops (`true` is
 * one), or the addresses and CIDR ranges of the proxies.
 */
export type TrustProxy = boolean | number | readonly string[];

/** {@link TrustProxy} after checking: `false`, a hop count of at least 1, or a non-empty list of CIDRs. */
export type ResolvedTrustProxy = false | number | readonly string[];

/** Most proxy hops accepted: more than a few means a misconfiguration, not a deployment. */
export const MAX_PROXY_HOPS = 10;

/**
 * Checks and normalizes a {@link TrustProxy} value; throws a `TypeError` naming what is wrong.
 * `true` is one hop, `0` and `[]` are `false`; an address without a prefix length is one host.
 *
 * @example
 * resolveTrustProxy(true); // 1
 * resolveTrustProxy(['10.0.0.0/8', '192.0.2.7']); // ['10.0.0.0/8', '192.0.2.7/32']
 */
export function resolveTrustProxy(value: TrustProxy, name = 'trustProxy'): ResolvedTrustProxy {
  if (value === false || value === 0) return false;
  if (value === true) return 1;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > MAX_PROXY_HOPS) {
      throw new TypeError(`createNode: ${name} must be false, a number of proxy hops from 1 to ${MAX_PROXY_HOPS}, or a list of proxy CIDRs; got ${JSON.stringify(value)}`);
    }
    return value;
  }
  if (!Array.isArray(value)) throw new TypeError(`createNode: ${name} must be false, a number of proxy hops, or a list of proxy CIDRs`);
  if (value.length === 0) return false;
  return value.map((entry) => {
    const cidr = parseCidr(entry);
    if (cidr === undefined) throw new TypeError(`createNode: ${name} has ${JSON.stringify(entry)}, which is not an IP address or CIDR range (e.g. 10.0.0.0/8)`);
    return `${cidr.address}/${cidr.prefix}`;
  });
}

/** An IPv4 or IPv6 address with an optional `/prefix`; undefined when it is not one. */
export function parseCidr(value: unknown): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  if (typeof value !== 'string') return undefined;
  const [address = '', prefixText, extra] = value.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Finds the client's address of a request, and says once when a request's `X-Forwarded-For` is ignored. */
export interface ClientAddress {
  /**
   * The client's address: the TCP `peer`, or the entry of `forwardedFor` that the trusted proxies
   * vouch for (counted from the right, which each proxy appends to; never the client's own entries).
   */
  of(peer: string | undefined, forwardedFor: string | string[] | undefined): string;
}

/**
 * Creates the {@link ClientAddress} of a node. When a request carries `X-Forwarded-For` that is not
 * trusted (no proxy configured, or sent by a peer that is not a configured proxy), it logs one
 * warning: behind a balancer that nobody trusts, every client shares the balancer's address, and
 * with it the per-address limits.
 */
export function createClientAddress(trust: ResolvedTrustProxy, logger: Logger): ClientAddress {
  const proxies = trust !== false && typeof trust !== 'number' ? blockListOf(trust) : undefined;
  let warned = false;
  const warnUntrusted = (peer: string): void => {
    if (warned) return;
    warned = true;
    logger.warn(
      { peer, trustProxy: trust },
      'requests carry X-Forwarded-For from a peer that is not a trusted proxy: the header is ignored, so every client behind that proxy shares its address and its per-address limits; set TRUST_PROXY (trustProxy) to the number of proxies in front of the node, or to their CIDRs',
    );
  };
  return {
    of(peer, forwardedFor) {
      const tcpPeer = normalizeAddress(peer ?? '') ?? '';
      const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
      if (header === undefined || header.trim() === '') return tcpPeer;
      if (trust === false || (proxies !== undefined && !isTrustedProxy(proxies, tcpPeer))) {
        warnUntrusted(tcpPeer);
        return tcpPeer;
      }
      // Right to left: the peer, then what each proxy appended. Entries left of the client's are its own.
      const chain = header.split(',').reverse();
      let client = tcpPeer;
      for (let hop = 0; hop < chain.length; hop++) {
        if (typeof trust === 'number' ? hop >= trust : !isTrustedProxy(proxies as BlockList, client)) break;
        const next = normalizeAddress(chain[hop] as string);
        // A proxy writes addresses; anything else came from the client, past the last proxy.
        if (next === undefined) break;
        client = next;
      }
      return client;
    },
  };
}

/** Why: only a configured proxy may speak for the hop before it; anyone else could be the client lying. */
function isTrustedProxy(proxies: BlockList, address: string): boolean {
  const version = isIP(address);
  return version !== 0 && proxies.check(address, version === 4 ? 'ipv4' : 'ipv6');
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of cidrs) {
    const cidr = parseCidr(entry);
    if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return list;
}

/**
 * An address as proxies write it, without port or brackets (`[2001:db8::1]:443`, `192.0.2.1:80`),
 * IPv4-mapped IPv6 as IPv4; undefined when it is not an IP address (`unknown`, obfuscated names).
 */
function normalizeAddress(raw: string): string | undefined {
  let value = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) value = bracketed[1] as string;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped) value = mapped[1] as string;
  return isIP(value) === 0 ? undefined : value;
}
