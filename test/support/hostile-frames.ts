import type { Rng } from './hostile-sockets';

/** One hostile message for the node: text or binary, and what the fuzzer should expect after it. */
export interface HostileFrame {
  kind: string;
  data: string | Buffer;
  /** Over the node's 64 KiB limit: the connection must be closed. */
  huge?: boolean;
  /** A well-formed rw:* request with this ack id: it must be answered (unless the node closed the connection). */
  ackId?: number;
  /** A Socket.IO CONNECT to the main namespace: it must be answered with CONNECT or CONNECT_ERROR. */
  connect?: boolean;
  /** Must be followed by a binary attachment. */
  attachment?: Buffer;
}

/** The node's Engine.IO `maxHttpBufferSize`. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

const NAMES = ['billing', 'tickets', 'presence', 'payroll', 'constructor', '__proto__', 'toString', '../billing', 'acme:svc:billing', 'org:acme:svc:billing', 'rw:synced', '*', '', 'bílling', '💸', 'billing\u0000', '\u202e'];
const EVENTS = ['rw:subscribe', 'rw:resume', 'rw:unsubscribe', 'rw:refresh', 'rw:publish', 'rw:presence', 'rw:history'];
const OTHER_EVENTS = ['rw:event', 'rw:position', 'rw:error', 'rw:resync', 'unknown', 'constructor', '__proto__', 'hasOwnProperty', 'toString', 'emit', 'join', '', 'x'.repeat(1000), 7];
const KEYS = ['services', 'service', 'limit', 'before', 'position', 'type', 'data', 'epoch', 'offset', 'org', 'token', 'v', 'pid', '__proto__', 'constructor', 'toString', 'valueOf', 'length', '0'];
const NUMBERS = [0, -0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 4294967296, 18446744073709552000];

/** Random text of `length` characters, mostly ASCII with control characters and some astral ones. */
export function garbage(rng: Rng, length: number): string {
  // Long runs repeat a random kilobyte: drawing hundreds of thousands of characters one by one is slow.
  if (length > 2048) return garbage(rng, 1024).repeat(Math.ceil(length / 1024)).slice(0, length);
  let out = '';
  for (let i = 0; i < length; i++) {
    const r = rng.next();
    out += r < 0.8 ? String.fromCharCode(rng.int(0x20, 0x7e)) : r < 0.9 ? String.fromCharCode(rng.int(0, 0x1f)) : r < 0.97 ? String.fromCharCode(rng.int(0xa0, 0xd7ff)) : '😀';
  }
  return out;
}

function withKey(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  // defineProperty, so `__proto__` becomes an own key that JSON carries.
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
  return target;
}

/** A random JSON-able value built to upset validators: odd numbers, hostile names, prototype keys, big lists. */
export function hostileValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, depth > 2 ? 4 : 8)) {
    case 0:
      return rng.pick(NAMES);
    case 1:
      return rng.pick(NUMBERS);
    case 2:
      return rng.pick([true, false, null]);
    case 3:
      return garbage(rng, rng.int(0, 300));
    case 4:
      return rng.pick<unknown>([{ toString: 1 }, { toString: 'x', valueOf: {} }, {}, []]);
    case 5:
      return Array.from({ length: rng.int(0, 5) }, () => hostileValue(rng, depth + 1));
    case 6: {
      const out: Record<string, unknown> = {};
      for (let i = rng.int(0, 4); i > 0; i--) withKey(out, rng.pick(KEYS), hostileValue(rng, depth + 1));
      return out;
    }
    case 7:
      return Array.from({ length: rng.int(0, 3000) }, (_, i) => i.toString(36));
    default:
      return { services: rng.chance(0.5) ? [rng.pick(NAMES)] : hostileValue(rng, depth + 1), position: { epoch: hostileValue(rng, depth + 1), offset: rng.pick(['1-0', '0-0', `${'9'.repeat(20)}-0`, '$', '-', '+', garbage(rng, 5)]) } };
  }
}

/**
 * A hostile Engine.IO / Socket.IO message. `token` is a valid client token (for CONNECTs that should
 * succeed); `connected` says whether the Socket.IO namespace is connected on this connection.
 */
export function hostileFrame(rng: Rng, token: string, connected: boolean, nextAckId: () => number): HostileFrame {
  const r = rng.next();
  if (r < 0.01) {
    const size = rng.int(MAX_PAYLOAD_BYTES + 1, 300_000);
    const data = rng.chance(0.5) ? `42["rw:subscribe",{"services":["${'a'.repeat(size)}"]}]` : garbage(rng, size);
    return { kind: 'huge', data, huge: true };
  }
  if (r < 0.08) return { kind: 'garbage', data: garbage(rng, rng.int(0, 300)) };
  if (r < 0.12) return { kind: 'binary', data: Buffer.from(Array.from({ length: rng.int(1, 4096) }, () => rng.int(0, 255))) };
  if (r < 0.17) return { kind: 'engine-packet', data: `${rng.pick(['2', '3', '5', '6', '7', '8', '9', 'a', '-', '{', '[', ' ', '2probe', '3probe'])}${garbage(rng, rng.int(0, 40))}` };
  if (r < 0.21) return { kind: 'socketio-garbage', data: `4${rng.pick(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-', '/'])}${garbage(rng, rng.int(0, 80))}` };
  if (r < 0.24) return { kind: 'bad-json', data: `42${JSON.stringify([rng.pick(EVENTS), hostileValue(rng)]).slice(0, rng.int(2, 40))}` };
  if (r < 0.27) {
    const nsp = rng.pick(['/admin', '/nope', '/', '/..', `/${'n'.repeat(500)}`, '/%00', '//']);
    return { kind: 'namespace', data: `40${nsp},${rng.chance(0.5) ? JSON.stringify({ token, v: 1 }) : ''}` };
  }
  if (r < 0.3) return { kind: 'client-only-packet', data: rng.pick(['41', '41/nope,', '43', `43${rng.int(0, 1e6)}[]`, '44{"message":"x"}', '44"x"', `4${rng.int(5, 6)}0-[]`]) };
  if (r < 0.33) {
    const count = rng.pick([1, 2, 11, 999999]);
    return {
      kind: 'binary-event',
      data: `45${count}-${JSON.stringify([rng.pick(EVENTS), { services: { _placeholder: true, num: rng.pick([0, 1, -1, 99]) } }])}`,
      attachment: Buffer.from(garbage(rng, rng.int(0, 100))),
    };
  }
  if (r < 0.35) {
    const depth = rng.int(1000, 20_000);
    return { kind: 'deep-json', data: `42["rw:subscribe",${'['.repeat(depth)}${']'.repeat(depth)}]` };
  }
  if (!connected || r < 0.45) {
    const auth: Record<string, unknown> = {};
    withKey(auth, 'token', rng.chance(0.6) ? token : hostileValue(rng));
    if (rng.chance(0.8)) withKey(auth, 'v', rng.chance(0.7) ? 1 : hostileValue(rng));
    if (rng.chance(0.2)) withKey(auth, 'pid', hostileValue(rng));
    if (rng.chance(0.2)) withKey(auth, 'offset', hostileValue(rng));
    for (let i = rng.int(0, 2); i > 0; i--) withKey(auth, rng.pick(KEYS), hostileValue(rng));
    return { kind: 'connect', data: `40${JSON.stringify(auth)}`, connect: true };
  }
  if (r < 0.9) {
    const event = rng.chance(0.8) ? rng.pick(EVENTS) : rng.pick(OTHER_EVENTS);
    const body = rng.chance(0.1) ? { services: ['billing'] } : rng.chance(0.5) ? { services: hostileValue(rng), position: hostileValue(rng) } : hostileValue(rng);
    const withAck = rng.chance(0.7);
    const ackId = nextAckId();
    const tracked = withAck && typeof event === 'string' && EVENTS.includes(event);
    const text = `42${withAck ? ackId : ''}${JSON.stringify([event, body])}`;
    if (text.length > MAX_PAYLOAD_BYTES) return { kind: 'event', data: '42["unknown"]' };
    return { kind: 'event', data: text, ...(tracked ? { ackId } : {}) };
  }
  // No body or more than one argument: the node must still answer (with RW_ERR_INVALID_REQUEST), not leave the ack waiting.
  const ackId = nextAckId();
  const args = Array.from({ length: rng.int(0, 5) }, () => hostileValue(rng, 2));
  const text = `42${ackId}${JSON.stringify([rng.pick(EVENTS), ...args])}`;
  if (text.length > MAX_PAYLOAD_BYTES) return { kind: 'event', data: '42["unknown"]' };
  return { kind: 'event-extra-args', data: text, ackId };
}
