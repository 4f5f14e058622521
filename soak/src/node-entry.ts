/**
 * A Roomwire node as `server/src/cli.ts` runs it in production (configuration from the environment,
 * SIGTERM drains), plus one soak-only variable: `SOAK_RECOVERY_CACHE_MS` sets `recoveryCacheMs`, which
 * the environment cannot set. Why: the node keeps the last 60 s of stream entries in memory, so its heap
 * grows for the first minute of traffic; a soak whose warm-up is shorter (the 60 s soak) shortens the
 * cache to fit inside the warm-up. Runs whose warm-up covers a minute use the real CLI.
 */
import { createNode, type RoomwireNode } from '../../server/src/node/create-node';
import { parseEnv } from '../../server/src/config/env';
import { createLogger } from '../../server/src/logger';

async function main(): Promise<void> {
  const config = parseEnv(process.env);
  const recoveryCacheMs = Number(process.env.SOAK_RECOVERY_CACHE_MS);
  if (!Number.isInteger(recoveryCacheMs) || recoveryCacheMs <= 0) throw new TypeError(`SOAK_RECOVERY_CACHE_MS: expected a positive integer of ms, got ${JSON.stringify(process.env.SOAK_RECOVERY_CACHE_MS)}`);
  const nodeId = config.options.nodeId ?? 'soak-node';
  const logger = createLogger(nodeId, config.logLevel);
  const node: RoomwireNode = await createNode({ ...config.options, nodeId, logger, recoveryCacheMs });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    node.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`soak node: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
