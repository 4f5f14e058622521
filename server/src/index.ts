export { createNode, type NodeStats, type RoomwireNode } from './node/create-node';
export { nodeDefaults, resolveNodeOptions, type AuthOptions, type NodeOptions, type ResolvedNodeOptions } from './config/node-options';
export {
  createPublisher,
  type BatchEvent,
  type EmitOptions,
  type Publisher,
  type PublisherOptions,
  type ServiceEmitter,
} from './publish/publisher';
export { affinityFor, type AffinityForOptions } from './affinity';
export type { PartitionAffinity } from '@roomwire/shared';
export type { PublishResult } from './publish/publish-pipeline';
export type { PublishRequest } from './publish/publish-request';
export type { Claims } from './auth/claims';
export { clientTokenDefaults, signClientToken, type SignClientTokenOptions } from './auth/sign-client-token';
export {
  SIGNING_ALGORITHMS,
  generateSigningKey,
  jwksDocument,
  toPublicJwk,
  type GenerateSigningKeyOptions,
  type SigningAlgorithm,
  type SigningKey,
} from './auth/signing-keys';
export type { JWK } from 'jose';
export type { RoomwireServer, RoomwireSocket } from './node/types';
