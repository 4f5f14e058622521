import { createPublisher } from '@roomwire/server';
import type { BatchingConfig } from '../systems/system-names';
import { EVENT_TYPE, orgOf, SERVICE } from './payload';
import type { PublishSink } from './sink';

/** Publishes through Roomwire's `createPublisher`, with batching on or off. */
export async function openRoomwireSink(redisUrl: string, batching: BatchingConfig | false): Promise<PublishSink> {
  const publisher = await createPublisher({ redisUrl, batching });
  return {
    async emit(room, payload) {
      await publisher.to(orgOf(room), SERVICE).emit(EVENT_TYPE, payload);
    },
    close: () => publisher.close(),
  };
}
