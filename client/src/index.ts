export {
  createClient,
  type ClientMetrics,
  type ConnectionState,
  type ResyncInfo,
  type RoomwireClient,
} from './create-client';
export { clientDefaults, resolveClientOptions, type ClientOptions, type TokenSource } from './client-options';
export { DedupCache } from './dedup';
