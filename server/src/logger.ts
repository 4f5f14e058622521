import pino, { type Logger } from 'pino';

/** A JSON logger tagged with the node id; every connection logs through a child with its `connId`. */
export function createLogger(nodeId: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { nodeId } });
}
