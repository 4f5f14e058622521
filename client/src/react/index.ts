export { createRealtimeHooks, type RealtimeHooks } from './create-realtime-hooks';
export {
  RealtimeProvider,
  useRealtimeClient,
  useRealtimeContext,
  type RealtimeContextValue,
  type RealtimeProviderProps,
} from './realtime-provider';
export { useRealtimeEvent } from './use-realtime-event';
export { useRealtimeStatus, type RealtimeStatus } from './use-realtime-status';
export { usePresence, type PresenceState } from './use-presence';
export { useHistory, type HistoryState } from './use-history';
