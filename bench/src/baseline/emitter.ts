import { randomUUID } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { EVENT_TYPE, orgOf, roomName, SERVICE } from '../publish/payload';
import type { PublishSink } from '../publish/sink';

/**
 * The baseline's publisher: a Socket.IO server with the same streams adapter as the baseline servers
 * and no HTTP listener, emitting `io.to(room).emit('event', envelope)`. The envelope has the shape
 * Roomwire delivers (`{ id, org, service, type, ts, data }`), so both systems carry the same bytes of
 * payload. The emit is fire-and-forget: the adapter gives no way to learn that it failed.
 */
export async function openBaselineEmitter(redisUrl: string): Promise<PublishSink> {
  const redis = createClient({ url: redisUrl, name: 'baseline-publisher' });
  redis.on('error', () => undefined);
  await redis.connect();
  const io = new Server({ adapter: createAdapter(redis) });
  return {
    emit(room, payload) {
      const org = orgOf(room);
      io.to(roomName(room)).emit('event', { id: randomUUID(), org, service: SERVICE, type: EVENT_TYPE, ts: Date.now(), data: payload });
    },
    async close() {
      await io.close();
      if (redis.isOpen) await redis.close().catch(() => undefined);
    },
  };
}
