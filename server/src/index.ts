export { createNode, type NodeStats, type RoomwireNode } from './node/create-node';
export { nodeDefaults, resolveNodeOptions, type AuthOptions, type NodeOptions, type ResolvedNodeOptions } from './config/node-options';
export {
  createPublisher,
  type EmitOptions,
  type Publisher,
  type PublisherOptions,
  type ServiceEmitter,
} from './publish/publisher';
export type { PublishResult } from './publish/publish-pipeline';
export type { PublishRequest } from './publish/publish-request';
export type { Claims } from './auth/claims';
export type { RoomwireServer, RoomwireSocket } from './node/types';
