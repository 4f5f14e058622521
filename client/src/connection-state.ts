/** Connection states; every change goes through one transition function and emits `{ from, to }`. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** A change of {@link ConnectionState}, as the `state` event carries it. */
export interface StateChange {
  from: ConnectionState;
  to: ConnectionState;
}

/** What happened to the connection. */
export type ConnectionSignal =
  /** The socket is connected and has rejoined its rooms (recovered, resumed or subscribed). */
  | 'synced'
  /** The connection was lost, or an attempt failed, and another attempt will follow. */
  | 'retrying'
  /** The client was closed, or the server refused it for good. */
  | 'stopped';

/**
 * The state a signal leads to. A client that has never been connected stays `connecting` through
 * failed attempts; one that has been connected is `reconnecting` until it is synced again.
 *
 * @example
 * nextState('connected', 'retrying'); // 'reconnecting'
 */
export function nextState(from: ConnectionState, signal: ConnectionSignal): ConnectionState {
  switch (signal) {
    case 'synced':
      return from === 'disconnected' ? 'disconnected' : 'connected';
    case 'retrying':
      return from === 'connecting' || from === 'disconnected' ? from : 'reconnecting';
    case 'stopped':
      return 'disconnected';
  }
}

/**
 * Holds one state and moves it, telling `onChange` about every real change.
 *
 * @example
 * const machine = createStateMachine('connecting', ({ from, to }) => console.log(from, '→', to));
 * machine.apply('synced'); // connecting → connected
 */
export function createStateMachine(
  initial: ConnectionState,
  onChange: (change: StateChange) => void,
): { readonly state: ConnectionState; apply(signal: ConnectionSignal): void; set(to: ConnectionState): void } {
  let state = initial;
  const set = (to: ConnectionState): void => {
    const from = state;
    if (from === to) return;
    state = to;
    onChange({ from, to });
  };
  return {
    get state() {
      return state;
    },
    apply: (signal) => set(nextState(state, signal)),
    set,
  };
}
