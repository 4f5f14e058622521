export { createClient, type ClientMetrics, type RoomwireClient } from './create-client';
// The error class requests reject with, from the same copy of @roomwire/shared the client uses (the browser bundle has its own).
export { RoomwireError, type ErrorCode, type HistoryPage, type PresenceChange, type PresenceMember, type PresenceSnapshot, type RwErrorPayload } from '@roomwire/shared';
export {
  clientDefaults,
  isProductionBuild,
  resolveClientOptions,
  type ClientOptions,
  type ResolvedClientOptions,
  type TokenSource,
} from './client-options';
export { createStateMachine, nextState, type ConnectionSignal, type ConnectionState, type StateChange } from './connection-state';
export type { TabRole } from './connection-hub';
export { GLOBAL_METRICS_NAME } from './global-metrics';
export { LatencyWindow, type LatencySummary } from './latency-window';
export {
  MAX_CONNECT_TIMEOUT_MS,
  connectTimeoutFor,
  isWakeEvent,
  managerBackoff,
  reconnectOptions,
  refusedHandshakeDelayMs,
  retryDelayMs,
  watchWakeEvents,
  type ManagerBackoff,
} from './reconnect-policy';
export { applyPresenceChange, presenceList, presenceListOf, type PresenceList, type PresenceTotals } from './presence-list';
export { canShareConnection, type TabMessage } from './shared-connection';
export { isNewerPosition, shouldRetryRefusal, type ConnectionStatus, type PublishedEvent, type ResyncInfo } from './socket-connection';
export { refreshDelayMs } from './token-refresh';
