import { createHash } from 'node:crypto';

/** Options of {@link ConsistentHashRing}. */
export interface RingOptions {
  /** Points each member gets on the ring (more points: a more even split). @default 160 */
  pointsPerMember?: number;
}

/** The 32-bit position of `key` on the ring: the first 4 bytes of its MD5, as a balancer's consistent hash does. */
function position(key: string): number {
  return createHash('md5').update(key).digest().readUInt32BE(0);
}

/**
 * A consistent-hash ring, the way a balancer routes by key (HAProxy `hash-type consistent`, nginx
 * `hash … consistent`): each member owns many points, a key goes to the member of the first point at or
 * after the key's position. Adding or removing one member moves only the keys next to its points.
 */
export class ConsistentHashRing {
  readonly #points: { at: number; member: number }[] = [];
  readonly #members: number;

  constructor(members: number, options: RingOptions = {}) {
    if (!Number.isInteger(members) || members < 1) throw new RangeError(`a ring needs at least one member, got ${members}`);
    const points = options.pointsPerMember ?? 160;
    this.#members = members;
    for (let member = 0; member < members; member++) {
      for (let i = 0; i < points; i++) this.#points.push({ at: position(`member-${member}#${i}`), member });
    }
    this.#points.sort((a, b) => a.at - b.at || a.member - b.member);
  }

  /** How many members the ring has. */
  get members(): number {
    return this.#members;
  }

  /** The member (0-based) that `key` goes to. */
  memberOf(key: string): number {
    const at = position(key);
    let low = 0;
    let high = this.#points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.#points[mid] as { at: number }).at < at) low = mid + 1;
      else high = mid;
    }
    return (this.#points[low === this.#points.length ? 0 : low] as { member: number }).member;
  }
}
