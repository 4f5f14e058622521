import { randomUUID } from 'node:crypto';
import { createAdapter as createPubSubAdapter } from '@socket.io/redis-adapter';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { EVENT_TYPE, orgOf, roomName, SERVICE } from '../publish/payload';
import type { PublishSink } from '../publish/sink';

/** Which Socket.IO Redis adapter a baseline runs on. */
export type BaselineAdapter = 'streams' | 'pubsub';

/**
 * The baseline's publisher: a Socket.IO server with the same streams adapter as the baseline servers
 * and no HTTP listener, emitting `io.to(room).emit('event', envelope)`. The envelope has the shape
 * Roomwire delivers (`{ id, org, service, type, ts, data }`), so both systems carry the same bytes of
 * payload. The emit is fire-and-forget: the adapter gives no way to learn that it failed.
 * `adapter` picks the streams adapter (`baseline`) or the pub/sub adapter (`baseline-pubsub`).
 */
export async function openBaselineEmitter(redisUrl: string, adapter: BaselineAdapter = 'streams'): Promise<PublishSink> {
  const redis = createClient({ url: redisUrl, name: 'baseline-publisher' });
  redis.on('error', () => undefined);
  await redis.connect();
  const sub = adapter === 'pubsub' ? redis.duplicate() : null;
  if (sub) {
    sub.on('error', () => undefined);
    await sub.connect();
  }
  const io = new Server({ adapter: sub ? createPubSubAdapter(redis, sub) : createAdapter(redis) });
  return {
    emit(room, payload) {
      const org = orgOf(room);
      io.to(roomName(room)).emit('event', { id: randomUUID(), org, service: SERVICE, type: EVENT_TYPE, ts: Date.now(), data: payload });
    },
    async close() {
      await io.close();
      if (redis.isOpen) await redis.close().catch(() => undefined);
      if (sub?.isOpen) await sub.close().catch(() => undefined);
    },
  };
}
