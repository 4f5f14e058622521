import { RoomwireError, isErrorCode, type RwErrorPayload } from '@roomwire/shared';

/**
 * The error of a request that can no longer be confirmed: the app closed the client, or the server
 * stopped it for good (`why` says which).
 *
 * @example
 * reject(closedError('the server closed the connection for good (io server disconnect)'));
 */
export function closedError(why = 'the client was closed'): RoomwireError {
  return new RoomwireError('RW_ERR_CLOSED', `${why} before the server confirmed the request`);
}

/**
 * The error of a request that a later call for the same service replaced before it was confirmed.
 *
 * @example
 * cancelledError("subscribe('tickets')", "unsubscribe('tickets')");
 */
export function cancelledError(replaced: string, by: string): RoomwireError {
  return new RoomwireError('RW_ERR_CANCELLED', `${replaced} was replaced by ${by} before the server confirmed it`);
}

/**
 * The error of a request the server did not confirm within `ms` of connected time.
 *
 * @example
 * timeoutError(10_000).retryable; // true: the client keeps trying
 */
export function timeoutError(ms: number): RoomwireError {
  return new RoomwireError('RW_ERR_TIMEOUT', `the server did not confirm the request within ${ms} ms of connected time; the client keeps trying`);
}

/**
 * An error payload from the wire (or from another tab) as a {@link RoomwireError}; an unknown code
 * becomes `RW_ERR_INTERNAL`.
 *
 * @example
 * throw fromPayload(ack.error);
 */
export function fromPayload(error: RwErrorPayload): RoomwireError {
  return new RoomwireError(isErrorCode(error.code) ? error.code : 'RW_ERR_INTERNAL', String(error.message));
}

/**
 * Whatever a request failed with, as a {@link RoomwireError}: one is kept as it is, anything else
 * (a bug, a transport error) becomes `RW_ERR_INTERNAL` with its message.
 *
 * @example
 * promise.catch((err: unknown) => reject(asRoomwireError(err)));
 */
export function asRoomwireError(err: unknown): RoomwireError {
  if (err instanceof RoomwireError) return err;
  return new RoomwireError('RW_ERR_INTERNAL', err instanceof Error ? err.message : String(err));
}
