import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { RoomwireError } from '@roomwire/shared';
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';

/** Why an admin login failed (a metrics label). */
export type AdminLoginFailure = 'credentials' | 'rate_limited';

/** What an admin login checks against and reports to. */
export interface AdminLoginOptions {
  username: string;
  password: string;
  /** The client's address of a socket's handshake (see `ClientAddress`). */
  addressOf(socket: Socket): string;
  /**
   * Takes one attempt of `address`; rejects with `RW_ERR_RATE_LIMITED` when it has none left.
   * Called before the credentials are compared.
   */
  takeAttempt(address: string): Promise<void>;
  /** Gives back the attempt of a login that succeeded, so that only failures count. */
  refundAttempt(address: string): Promise<void>;
  onFailure(reason: AdminLoginFailure): void;
  logger: Logger;
}

/** How long a session of the admin UI lets it reconnect without the password. */
export const ADMIN_SESSION_TTL_MS = 24 * 60 * 60 * 1000;
/** Most sessions kept; the oldest goes first. */
const MAX_SESSIONS = 1000;

/**
 * The admin namespace's login, installed on `namespace` before anything else: a middleware that
 * admits a handshake carrying a session id it issued, or the right `username` and `password` (then
 * issues a session, sent as the `session` event once connected, as `@socket.io/admin-ui` expects).
 *
 * Each address has a budget of failed attempts, taken before the credentials are looked at, so a
 * guesser is refused without any work. The comparison costs two HMAC-SHA-256 digests and a
 * constant-time compare, not a password hash: the password is in this process's configuration (the
 * environment), so there is no stored hash that a slow hash would protect, and a slow hash on the event
 * loop is what let a few wrong guesses stall every delivery of the node.
 */
export function installAdminLogin(namespace: Namespace, options: AdminLoginOptions): void {
  const key = randomBytes(32);
  const digest = (value: string): Buffer => createHmac('sha256', key).update(value, 'utf8').digest();
  const expectedUser = digest(options.username);
  const expectedPassword = digest(options.password);
  const sessions = new Map<string, number>();

  const hasSession = (id: unknown): boolean => {
    if (typeof id !== 'string') return false;
    const expiresAt = sessions.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt > Date.now()) return true;
    sessions.delete(id);
    return false;
  };
  const newSession = (): string => {
    const id = randomBytes(16).toString('hex');
    sessions.set(id, Date.now() + ADMIN_SESSION_TTL_MS);
    if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
    return id;
  };
  /** Both compared every time, in constant time: neither which field was wrong nor how much of it leaks. */
  const matches = (username: unknown, password: unknown): boolean => {
    if (typeof username !== 'string' || typeof password !== 'string') return false;
    const userOk = timingSafeEqual(digest(username), expectedUser);
    const passwordOk = timingSafeEqual(digest(password), expectedPassword);
    return userOk && passwordOk;
  };

  // Sent once connected: an emit from a middleware goes nowhere while connection-state recovery is on
  // (it is broadcast to the socket's own room, which the socket joins only when it connects).
  const issued = new WeakMap<Socket, string>();
  namespace.on('connection', (socket: Socket) => {
    const session = issued.get(socket);
    if (session === undefined) return;
    issued.delete(socket);
    socket.emit('session', session);
  });

  namespace.use((socket, next) => {
    const auth = (socket.handshake.auth ?? {}) as { sessionId?: unknown; username?: unknown; password?: unknown };
    if (hasSession(auth.sessionId)) {
      next();
      return;
    }
    const address = options.addressOf(socket);
    options.takeAttempt(address).then(
      () => {
        if (!matches(auth.username, auth.password)) {
          options.onFailure('credentials');
          options.logger.warn({ address }, 'admin UI login refused: wrong credentials');
          next(refusal(new RoomwireError('RW_ERR_UNAUTHORIZED', 'invalid credentials')));
          return;
        }
        void options.refundAttempt(address).catch(() => undefined);
        issued.set(socket, newSession());
        next();
      },
      (err: unknown) => {
        const error = err instanceof RoomwireError ? err : new RoomwireError('RW_ERR_UNAVAILABLE', 'the login could not be checked; retry');
        if (error.code === 'RW_ERR_RATE_LIMITED') options.onFailure('rate_limited');
        options.logger.warn({ address, code: error.code }, 'admin UI login refused');
        next(refusal(error));
      },
    );
  });
}

function refusal(error: RoomwireError): Error & { data: { code: string; message: string } } {
  return Object.assign(new Error(error.message), { data: error.toJSON() });
}
