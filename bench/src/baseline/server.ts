/**
 * The baseline server: what a user would build without Roomwire. Plain Socket.IO 4.8 on
 * `@socket.io/redis-streams-adapter` (node-redis, the adapter's defaults) with connection-state
 * recovery; each client joins the room named in its handshake query. Configured by the environment:
 * `PORT`, `REDIS_URL`, and `BASELINE_ADAPTER=pubsub` for plain Socket.IO on `@socket.io/redis-adapter`
 * (Redis pub/sub) without recovery. Serves `GET /healthz` for readiness.
 */
import '../measure/cpu-profile';
import '../measure/memory-probe';
import { createServer } from 'node:http';
import { createAdapter as createPubSubAdapter } from '@socket.io/redis-adapter';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';

/** Socket.IO's default recovery window. */
const MAX_DISCONNECTION_DURATION_MS = 2 * 60 * 1000;

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 0);
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) throw new Error('REDIS_URL is required');

  const redis = createClient({ url: redisUrl, name: 'baseline-node' });
  redis.on('error', (err: Error) => process.stderr.write(`redis error: ${err.message}\n`));
  await redis.connect();
  const pubsub = process.env.BASELINE_ADAPTER === 'pubsub';
  const sub = pubsub ? redis.duplicate() : null;
  if (sub) {
    sub.on('error', (err: Error) => process.stderr.write(`redis error: ${err.message}\n`));
    await sub.connect();
  }

  const httpServer = createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? 'ok' : 'not found');
  });
  const io = new Server(httpServer, {
    adapter: sub ? createPubSubAdapter(redis, sub) : createAdapter(redis),
    ...(pubsub ? {} : { connectionStateRecovery: { maxDisconnectionDuration: MAX_DISCONNECTION_DURATION_MS, skipMiddlewares: true } }),
    transports: ['websocket'],
    serveClient: false,
  });
  io.on('connection', (socket) => {
    // A recovered socket got its rooms back with its session.
    if (socket.recovered) return;
    const room = socket.handshake.query.room;
    if (typeof room === 'string' && room.length > 0) void socket.join(room);
  });

  await new Promise<void>((resolve) => httpServer.listen(port, '127.0.0.1', resolve));

  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    void io.close().then(async () => {
      if (redis.isOpen) await redis.close().catch(() => undefined);
      if (sub?.isOpen) await sub.close().catch(() => undefined);
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline server failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
