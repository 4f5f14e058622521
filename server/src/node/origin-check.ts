import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { safePreview } from '../safe-preview';

/**
 * Why: browsers send `Origin` on every cross-site request and WebSocket, but enforce CORS only on
 * what a page reads over HTTP; a WebSocket (and a simple POST) goes through whatever the answer. So
 * the node itself refuses handshakes from origins that are neither its own nor listed. Clients
 * without `Origin` (servers, apps, the Node client) are not browsers acting for another site.
 */
export function isAllowedOrigin(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  return host !== undefined && hostOf(origin) === host.toLowerCase();
}

/** `host[:port]` of an origin as the `Host` header spells it; undefined for `null` and other non-URLs. */
function hostOf(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Engine.IO `allowRequest` of a node: refuses new sessions, over long-polling (403) and over
 * WebSocket upgrades (400, the only status Engine.IO gives a refused upgrade), from an `Origin` that
 * {@link isAllowedOrigin} refuses, with a message naming the code and the origin.
 */
export function createOriginCheck(
  allowed: readonly string[],
  logger: Logger,
): (req: IncomingMessage, callback: (message: string | null | undefined, success: boolean) => void) => void {
  return (req, callback) => {
    const origin = req.headers.origin;
    if (isAllowedOrigin(origin, req.headers.host, allowed)) {
      callback(null, true);
      return;
    }
    logger.info({ origin: safePreview(origin, 200) }, 'handshake refused: origin not allowed');
    callback(`RW_ERR_FORBIDDEN: origin ${safePreview(origin, 200)} is not allowed to connect (see CORS_ORIGINS)`, false);
  };
}
