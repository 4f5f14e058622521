import type { RedisClient } from './redis-client';

type Method = (...args: unknown[]) => unknown;

/**
 * The client to hand to `@socket.io/redis-streams-adapter`. The adapter makes a subscriber connection
 * with `duplicate()` and never handles the promises of that connection's `subscribe` (nor of the
 * `disconnect` it calls on close): a node closed while Redis is away, or before its subscription was
 * confirmed, would see them rejected with nobody listening, and an unhandled rejection ends a Node
 * process. This wraps exactly those two methods of the duplicate so that a failure is reported to
 * `onError` instead; every other call goes to the client unchanged.
 */
export function adapterClient(client: RedisClient, onError: (err: Error, what: string) => void): RedisClient {
  const duplicate = client.duplicate.bind(client) as Method;
  const guarded = (target: Record<string, unknown>, name: 'subscribe' | 'sSubscribe' | 'disconnect'): void => {
    const original = target[name];
    if (typeof original !== 'function') return;
    target[name] = (...args: unknown[]): unknown => {
      const result = (original as Method).apply(target, args);
      if (result instanceof Promise) {
        result.catch((err: unknown) => onError(err instanceof Error ? err : new Error(String(err)), `adapter subscriber ${name}`));
      }
      return result;
    };
  };
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'duplicate') {
        return (...args: unknown[]): unknown => {
          const copy = duplicate(...args) as Record<string, unknown>;
          guarded(copy, 'subscribe');
          guarded(copy, 'sSubscribe');
          guarded(copy, 'disconnect');
          return copy;
        };
      }
      const value: unknown = Reflect.get(target, prop);
      // node-redis keeps state in private fields: its methods must run on the client itself.
      return typeof value === 'function' ? (value as Method).bind(target) : value;
    },
  });
}
