import type { StreamPosition } from '@roomwire/shared';
import type { Claims } from '../auth/claims';

/** Key of a restored session's pending replay in `socket.data`. */
export const RESTORE_KEY = 'restore';

/** What the node keeps on each socket (`socket.data`), typed. */
export interface SocketState {
  claims: Claims;
  /** Per-connection id in logs. */
  connId: string;
  /** Set on a socket restored by connection-state recovery until its missed range is replayed. */
  restore?: { rooms: string[]; position: StreamPosition };
  /** Set when the node evicted the socket; survives in its recovery session. */
  evicted?: 'RW_ERR_SLOW_CONSUMER';
}
