import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { CatalogDefinition } from '@roomwire/shared';
import { nodeDefaults } from '../config/node-options';
import { sendJson } from '../publish/http-publish';
import type { RoomwireServer } from './types';
import type { NodeSnapshot } from './cluster-status';

/** Options of {@link createStatusPage}. */
export interface StatusPageOptions {
  io: RoomwireServer;
  nodeId: string;
  /** A client token embedded in the page (development only); without it the operator pastes one. */
  devToken?: string;
  /** The node's catalog, whose services the page lists and watches. @default the example catalog */
  catalog?: CatalogDefinition;
  /** Every live node of the cluster (this one alone without Redis). */
  cluster?: () => Promise<NodeSnapshot[]>;
}

/** Body of `GET /v1/status`: this node's local view. */
export interface NodeStatus {
  nodeId: string;
  /** Sockets connected to this node. */
  connections: number;
  /** Rooms on this node, not counting each socket's own room. */
  rooms: number;
  uptimeS: number;
  /** Service names of the catalog. */
  services: string[];
  /** Every live node of the cluster, with its counters (see {@link NodeSnapshot}). */
  nodes: NodeSnapshot[];
}

/** Where the browser ESM bundle of `@roomwire/client` is served. */
export const CLIENT_BUNDLE_PATH = '/assets/roomwire-client.mjs';

const ASSETS: ReadonlyMap<string, { file: string; contentType: string }> = new Map([
  [CLIENT_BUNDLE_PATH, { file: 'roomwire-client.mjs', contentType: 'text/javascript; charset=utf-8' }],
  [`${CLIENT_BUNDLE_PATH}.map`, { file: 'roomwire-client.mjs.map', contentType: 'application/json; charset=utf-8' }],
]);

/**
 * Routes of the status page: `GET /` (HTML dashboard), `GET /v1/status` (JSON) and the client bundle
 * under `/assets/`. The returned handler answers true when it handled the request.
 */
export function createStatusPage(options: StatusPageOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const startedAt = performance.now();
  const services = Object.keys(options.catalog ?? nodeDefaults.catalog);

  const status = async (): Promise<NodeStatus> => {
    const { rooms, sids } = options.io.of('/').adapter;
    let named = 0;
    for (const room of rooms.keys()) if (!sids.has(room)) named++;
    return {
      nodeId: options.nodeId,
      connections: options.io.of('/').sockets.size,
      rooms: named,
      uptimeS: Math.floor((performance.now() - startedAt) / 1000),
      services,
      nodes: options.cluster ? await options.cluster() : [],
    };
  };

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname === '/') {
      sendPage(res, options.nodeId, options.devToken);
      return true;
    }
    if (pathname === '/v1/status') {
      status().then(
        (body) => sendJson(res, 200, body),
        () => sendJson(res, 503, { error: { code: 'RW_ERR_UNAVAILABLE', message: 'the cluster status could not be read' } }),
      );
      return true;
    }
    const asset = ASSETS.get(pathname);
    if (asset === undefined) return false;
    void sendAsset(res, asset.file, asset.contentType);
    return true;
  };
}

function sendPage(res: ServerResponse, nodeId: string, devToken: string | undefined): void {
  const nonce = randomBytes(16).toString('base64');
  const html = renderPage(nodeId, devToken, nonce);
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    // 'self' in script-src lets the nonced script import the same-origin client bundle.
    'Content-Security-Policy': [
      "default-src 'none'",
      `script-src 'self' 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    // The page may embed a development token: never cache it, never leak it through a referrer.
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(html);
}

async function sendAsset(res: ServerResponse, file: string, contentType: string): Promise<void> {
  const dir = clientPackageDir();
  let body: Buffer;
  try {
    if (dir === undefined) throw Object.assign(new Error('@roomwire/client is not installed'), { code: 'ENOENT' });
    body = await readFile(path.join(dir, 'dist', 'browser', file));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    sendJson(
      res,
      missing ? 404 : 500,
      missing
        ? { error: { code: 'RW_ERR_NOT_FOUND', message: 'the browser client bundle is not built; run `npm run build`' } }
        : { error: { code: 'RW_ERR_INTERNAL', message: 'could not read the browser client bundle' } },
    );
    return;
  }
  res.writeHead(200, {
    'Content-Type': contentType,
    'Content-Length': body.length,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

let clientDir: string | undefined;

/** Directory of the installed `@roomwire/client` package, or undefined when it is not installed. */
function clientPackageDir(): string | undefined {
  if (clientDir !== undefined) return clientDir;
  try {
    clientDir = path.dirname(require.resolve('@roomwire/client/package.json'));
  } catch {
    // Why: a package whose "exports" map omits ./package.json refuses that resolve; look in node_modules.
    const found = (require.resolve.paths('@roomwire/client') ?? [])
      .map((dir) => path.join(dir, '@roomwire', 'client'))
      .find((dir) => existsSync(path.join(dir, 'package.json')));
    clientDir = found;
  }
  return clientDir;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a `<script>` element: nothing in it can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function renderPage(nodeId: string, devToken: string | undefined, nonce: string): string {
  const config = scriptJson({ devToken: devToken ?? null, bundle: CLIENT_BUNDLE_PATH });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Roomwire · ${escapeHtml(nodeId)}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${PAGE_CSS}</style>
</head>
<body>
<header>
  <span class="dot" id="health" title="status"></span>
  <h1>Roomwire</h1>
  <span class="mono muted" id="node-id">${escapeHtml(nodeId)}</span>
</header>
<main>
  <section class="stats">
    <div class="card"><div class="label">Connections</div><div class="value" id="connections">–</div></div>
    <div class="card"><div class="label">Rooms</div><div class="value" id="rooms">–</div></div>
    <div class="card"><div class="label">Uptime</div><div class="value" id="uptime">–</div></div>
    <div class="card"><div class="label">Services</div><div class="mono services" id="services">–</div></div>
  </section>
  <section class="card">
    <div class="heading"><h2>Recent events</h2><span class="muted" id="feed-state"></span></div>
    <form id="token-form" hidden>
      <input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="Paste a client token (JWT) to watch events">
      <button type="submit">Watch</button>
    </form>
    <table>
      <thead><tr><th>Time</th><th>Service</th><th>Type</th><th>Data</th></tr></thead>
      <tbody id="events"></tbody>
    </table>
    <p class="muted" id="empty">No events yet.</p>
  </section>
</main>
<script type="application/json" id="rw-config">${config}</script>
<script type="module" nonce="${nonce}">${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

const PAGE_CSS = `
:root { color-scheme: light dark; --bg: #f5f6f8; --card: #fff; --fg: #1c2026; --muted: #6b7280; --line: #e5e7eb;
  --accent: #3b5bdb; --ok: #2f9e44; --bad: #e03131; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1115; --card: #171a21; --fg: #e6e8eb; --muted: #8b93a1; --line: #272b34; --accent: #748ffc; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: .6rem; padding: .9rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 1rem; margin: 0; }
h2 { font-size: .95rem; margin: 0; }
.dot { width: .6rem; height: .6rem; border-radius: 50%; background: var(--muted); }
.dot.ok { background: var(--ok); }
.dot.bad { background: var(--bad); }
main { max-width: 1000px; margin: 0 auto; padding: 1.5rem; display: grid; gap: 1rem; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.1rem; }
.label { color: var(--muted); font-size: .72rem; text-transform: uppercase; letter-spacing: .05em; }
.value { font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.services { margin-top: .45rem; }
.heading { display: flex; justify-content: space-between; align-items: baseline; gap: 1rem; margin-bottom: .6rem; }
.mono, td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .82rem; }
.muted { color: var(--muted); }
form { display: flex; gap: .5rem; margin-bottom: .8rem; }
input { flex: 1; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
button { padding: .45rem 1rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: .72rem; text-transform: uppercase; letter-spacing: .05em; }
th, td { padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td:last-child { word-break: break-all; }
[hidden] { display: none !important; }
`;

// Plain DOM code, no template literals: it is embedded in a TypeScript template string.
const PAGE_SCRIPT = `
const config = JSON.parse(document.getElementById('rw-config').textContent);
const $ = (id) => document.getElementById(id);
const MAX_EVENTS = 50;
const TOKEN_KEY = 'roomwire.statusToken';
let client = null;
let resolveServices;
const servicesKnown = new Promise((resolve) => { resolveServices = resolve; });

function uptime(s) {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return d + 'd ' + h + 'h';
  if (h > 0) return h + 'h ' + m + 'm';
  if (m > 0) return m + 'm ' + (s % 60) + 's';
  return s + 's';
}

async function poll() {
  try {
    const res = await fetch('/v1/status', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const s = await res.json();
    $('health').className = 'dot ok';
    $('health').title = 'up';
    $('connections').textContent = String(s.connections);
    $('rooms').textContent = String(s.rooms);
    $('uptime').textContent = uptime(s.uptimeS);
    $('services').textContent = s.services.join(', ') || '—';
    resolveServices(s.services);
  } catch {
    $('health').className = 'dot bad';
    $('health').title = 'unreachable';
  }
}

function feedState(text) {
  $('feed-state').textContent = text;
}

function addEvent(envelope) {
  const row = document.createElement('tr');
  const json = JSON.stringify(envelope.data) ?? '';
  const cells = [
    new Date(envelope.ts).toLocaleTimeString(),
    envelope.service,
    envelope.type,
    json.length > 160 ? json.slice(0, 159) + '…' : json,
  ];
  for (const text of cells) {
    const cell = document.createElement('td');
    cell.textContent = String(text);
    row.append(cell);
  }
  row.lastChild.title = json;
  const body = $('events');
  body.prepend(row);
  while (body.rows.length > MAX_EVENTS) body.lastElementChild.remove();
  $('empty').hidden = true;
}

async function watch(token) {
  if (client !== null) client.close();
  client = null;
  feedState('connecting…');
  let lib;
  try {
    lib = await import(config.bundle);
  } catch {
    feedState('The client bundle is not built: run npm run build, then reload.');
    return;
  }
  const services = await servicesKnown;
  const watching = services.join(', ') || 'no services';
  try {
    client = lib.createClient({ url: location.origin, token, services, exposeGlobal: true });
    client.onEvent(addEvent);
    client.onResync((info) => feedState('resynced ' + info.services.join(', ') + ' (' + info.reason + ')'));
    // Newer clients report state and errors; older ones only deliver events.
    if (typeof client.onState === 'function') {
      client.onState((change) => feedState(change.to === 'connected' ? 'live · ' + watching : change.to + '…'));
    } else {
      feedState('live · ' + watching);
    }
    if (typeof client.onError === 'function') {
      client.onError((error) => feedState(error.code + ': ' + error.message));
    }
  } catch (err) {
    feedState('Could not connect: ' + (err && err.message ? err.message : String(err)));
  }
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token').value.trim();
  if (token === '') return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  void watch(token);
});

void poll();
setInterval(poll, 2000);

if (config.devToken) {
  void watch(config.devToken);
} else {
  $('token-form').hidden = false;
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) void watch(saved);
  else feedState('paste a token to watch events');
}
`;
