import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { instrument } from '@socket.io/admin-ui';
import type { Server } from 'socket.io';
import { sendJson } from '../publish/http-publish';
import { installAdminLogin, type AdminLoginOptions } from './admin-login';

/** The Socket.IO admin UI, off unless configured. */
export interface AdminUiOptions {
  /** Basic-auth user name of the admin namespace. */
  username: string;
  /** Basic-auth password; at least 12 characters. */
  password: string;
  /** Forbid actions that change state (disconnect, join, leave). @default true */
  readonly?: boolean;
  /** Failed logins allowed per client address per minute, across the cluster; more are refused before any check. @default 5 */
  loginFailuresPerIpPerMinute?: number;
}

/** Defaults of {@link AdminUiOptions}. */
export const adminUiDefaults = {
  readonly: true,
  loginFailuresPerIpPerMinute: 5,
} as const;

/** Where the admin UI is served. */
export const ADMIN_UI_PATH = '/admin/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
};

/**
 * Instruments the server for `@socket.io/admin-ui` (namespace `/admin`, aggregated "production" mode)
 * behind the node's own login ({@link installAdminLogin}: rate-limited per address, cheap to check),
 * and serves the UI's files from the package itself under `/admin/`, with the page's links to web
 * fonts removed so nothing is fetched from the internet.
 */
export function enableAdminUi(
  io: Server,
  options: AdminUiOptions,
  nodeId: string,
  login: Omit<AdminLoginOptions, 'username' | 'password'>,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  if (options.password.length < 12) throw new TypeError('createNode: adminUi.password must be at least 12 characters');
  // Registered before instrument() adds its handlers: every admin socket passes the login first.
  installAdminLogin(io.of('/admin'), { ...login, username: options.username, password: options.password });
  instrument(io, {
    auth: false,
    mode: 'production',
    readonly: options.readonly ?? adminUiDefaults.readonly,
    serverId: nodeId,
  });
  const root = path.join(path.dirname(require.resolve('@socket.io/admin-ui/package.json')), 'ui', 'dist');
  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    if (url === '/admin') {
      res.writeHead(301, { Location: ADMIN_UI_PATH });
      res.end();
      return true;
    }
    if (!url.startsWith(ADMIN_UI_PATH) || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const relative = decodePath(url.slice(ADMIN_UI_PATH.length));
    if (relative === undefined) {
      sendJson(res, 400, { error: { code: 'RW_ERR_INVALID_REQUEST', message: 'the path is not valid percent-encoded UTF-8' } });
      return true;
    }
    const file = path.resolve(root, relative || 'index.html');
    if (!file.startsWith(root + path.sep)) return false;
    readFile(file).then(
      (body) => {
        const ext = path.extname(file);
        const content = ext === '.html' ? Buffer.from(body.toString('utf8').replace(/<link[^>]+href="https?:\/\/[^"]*"[^>]*>/g, '')) : body;
        res.writeHead(200, { 'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'Content-Length': content.length });
        res.end(req.method === 'HEAD' ? undefined : content);
      },
      () => sendJson(res, 404, { error: { code: 'RW_ERR_NOT_FOUND', message: 'no such admin UI file' } }),
    );
    return true;
  };
}

/** The decoded path, or undefined when its percent-encoding is malformed or not UTF-8 (decodeURIComponent throws URIError). */
function decodePath(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}
