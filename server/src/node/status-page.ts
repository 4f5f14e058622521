import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { isValidName, orgRoom, parseServiceRoom, type CatalogDefinition } from '@roomwire/shared';
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
  /** Presence on this node per service: distinct users (over every org) and their connections. */
  presence?: () => Record<string, { users: number; connections: number }>;
}

/** Body of `GET /v1/status`: this node's local view. */
export interface NodeStatus {
  nodeId: string;
  /** Sockets connected to this node. */
  connections: number;
  /** Roomwire rooms on this node (org rooms and service rooms); not each socket's own room, nor internal ones. */
  rooms: number;
  uptimeS: number;
  /** Service names of the catalog. */
  services: string[];
  /** Every live node of the cluster, with its counters (see {@link NodeSnapshot}). */
  nodes: NodeSnapshot[];
  /** Presence on this node per service of the catalog: users (with a `sub`) and their connections. */
  presence: Record<string, { users: number; connections: number }>;
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
    const presenceNow = options.presence?.() ?? {};
    let named = 0;
    for (const room of options.io.of('/').adapter.rooms.keys()) if (isRoomwireRoom(room)) named++;
    return {
      nodeId: options.nodeId,
      connections: options.io.of('/').sockets.size,
      rooms: named,
      uptimeS: Math.floor((performance.now() - startedAt) / 1000),
      services,
      nodes: options.cluster ? await options.cluster() : [],
      presence: Object.fromEntries(services.map((service) => [service, presenceNow[service] ?? { users: 0, connections: 0 }])),
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

/** Why: the page counts the rooms apps publish to, not each socket's own room or the node's bookkeeping rooms. */
export function isRoomwireRoom(room: string): boolean {
  if (parseServiceRoom(room) !== undefined) return true;
  const org = room.startsWith('org:') ? room.slice(4) : undefined;
  return org !== undefined && isValidName(org) && orgRoom(org) === room;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a `<script>` element: nothing in it can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function renderPage(nodeId: string, devToken: string | undefined, nonce: string): string {
  const config = scriptJson({ devToken: devToken ?? null, bundle: CLIENT_BUNDLE_PATH, historyPolls: HISTORY_POLLS });
  const id = escapeHtml(nodeId);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Roomwire · ${id}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${PAGE_CSS}</style>
</head>
<body>
<header>
  <span class="dot" id="health" role="img" aria-label="status unknown" title="status unknown"></span>
  <h1>Roomwire</h1>
  <span class="mono muted" id="node-id" title="the node serving this page">${id}</span>
  <span class="muted updated" id="updated"></span>
</header>
<main>
  <section aria-labelledby="cluster-title">
    <div class="heading"><h2 id="cluster-title">Cluster</h2><span class="muted">charts: last ${HISTORY_POLLS} polls, every ${POLL_INTERVAL_MS / 1000} s</span></div>
    <dl class="stats cluster">
      <div class="card"><dt class="label">Nodes</dt><dd class="value" id="total-nodes">–</dd></div>
      <div class="card"><dt class="label">Subscriptions</dt><dd class="value" id="total-subscriptions">–</dd></div>
      ${sparkCard('connections', 'Connections', 'Total connections')}
      ${sparkCard('rate', 'Delivered / s', 'Events delivered per second, all nodes')}
      ${sparkCard('p99', 'p99 latency', 'Delivery latency p99 of the slowest node, in ms')}
    </dl>
  </section>
  <section class="card" aria-labelledby="nodes-title">
    <div class="heading"><h2 id="nodes-title">Nodes</h2><span class="muted">latency: publish → node delivery, recent frames</span></div>
    <table class="nodes">
      <thead><tr>
        <th scope="col">Node</th><th scope="col" class="num">Connections</th><th scope="col" class="num">Subscriptions</th>
        <th scope="col" class="num">Delivered / s</th><th scope="col" class="num">p50</th><th scope="col" class="num">p99</th>
        <th scope="col" class="num">Uptime</th>
      </tr></thead>
      <tbody id="nodes"><tr><td colspan="7" class="muted">Waiting for the first status…</td></tr></tbody>
    </table>
  </section>
  <section aria-labelledby="local-title">
    <div class="heading"><h2 id="local-title">This node</h2><span class="mono muted">${id}</span></div>
    <dl class="stats">
      <div class="card"><dt class="label">Connections</dt><dd class="value" id="connections">–</dd></div>
      <div class="card"><dt class="label">Rooms</dt><dd class="value" id="rooms">–</dd></div>
      <div class="card"><dt class="label">Uptime</dt><dd class="value" id="uptime">–</dd></div>
      <div class="card"><dt class="label">Services</dt><dd class="mono services" id="services">–</dd></div>
      <div class="card"><dt class="label">Present (users · connections)</dt><dd class="mono services" id="presence">–</dd></div>
    </dl>
  </section>
  <section class="card" aria-labelledby="events-title">
    <div class="heading"><h2 id="events-title">Recent events</h2><span class="muted" id="feed-state" role="status"></span></div>
    <form id="token-form" hidden>
      <label class="sr-only" for="token">Client token</label>
      <input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="Paste a client token (JWT) to watch events">
      <button type="submit">Watch</button>
    </form>
    <table class="events">
      <thead><tr><th scope="col">Time</th><th scope="col">Service</th><th scope="col">Type</th><th scope="col">Data</th></tr></thead>
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

/** How often the page reads `GET /v1/status`, in ms. */
const POLL_INTERVAL_MS = 2000;
/** How many polls the sparklines cover (two minutes). */
const HISTORY_POLLS = 60;

/** A cluster total with its sparkline; the page's script fills `total-<key>` and `spark-<key>`. */
function sparkCard(key: string, label: string, description: string): string {
  return `<div class="card spark-card spark-${key}">
        <dt class="label" id="label-${key}">${label}</dt>
        <dd class="value" id="total-${key}">–</dd>
        <dd class="spark-box"><svg class="spark" id="spark-${key}" viewBox="0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(description)}: no data yet" data-description="${escapeHtml(description)}" data-points="0"><path class="area" d=""/><path class="line" d=""/></svg>
        <span class="spark-peak muted" id="peak-${key}" aria-hidden="true"></span></dd>
      </div>`;
}

/** The sparklines' coordinate space; CSS stretches it to the card. */
const SPARK_WIDTH = 240;
const SPARK_HEIGHT = 48;

const PAGE_CSS = `
:root { color-scheme: light dark; --bg: #f5f6f8; --card: #fff; --fg: #1c2026; --muted: #6b7280; --line: #e5e7eb;
  --accent: #3b5bdb; --ok: #2f9e44; --bad: #e03131; --warn: #e8590c; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1115; --card: #171a21; --fg: #e6e8eb; --muted: #8b93a1; --line: #272b34; --accent: #748ffc; --ok: #51cf66; --warn: #ff922b; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: .6rem; padding: .9rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
header .updated { margin-left: auto; font-size: .8rem; }
h1 { font-size: 1rem; margin: 0; }
h2 { font-size: .95rem; margin: 0; }
dl, dd { margin: 0; }
.dot { width: .6rem; height: .6rem; border-radius: 50%; background: var(--muted); }
.dot.ok { background: var(--ok); }
.dot.bad { background: var(--bad); }
main { max-width: 1120px; margin: 0 auto; padding: 1.5rem; display: grid; gap: 1.25rem; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 1rem; }
.stats.cluster { grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); }
@media (min-width: 900px) { .stats.cluster { grid-template-columns: 1fr 1fr 1.6fr 1.6fr 1.6fr; } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.1rem; }
.label { color: var(--muted); font-size: .72rem; text-transform: uppercase; letter-spacing: .05em; }
.value { font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.services { margin-top: .45rem; }
.heading { display: flex; justify-content: space-between; align-items: baseline; gap: 1rem; margin-bottom: .6rem; }
.mono, td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .82rem; }
.muted { color: var(--muted); }
.spark-card { position: relative; display: flex; flex-direction: column; }
.spark-box { margin-top: auto; padding-top: .5rem; }
.spark { display: block; width: 100%; height: 44px; overflow: visible; color: var(--accent); }
.spark-rate .spark { color: var(--ok); }
.spark-p99 .spark { color: var(--warn); }
.spark .line { fill: none; stroke: currentColor; stroke-width: 1.75; stroke-linejoin: round; stroke-linecap: round; vector-effect: non-scaling-stroke; }
.spark .area { fill: currentColor; opacity: .14; }
.spark-peak { position: absolute; top: 1rem; right: 1.1rem; font-size: .72rem; font-variant-numeric: tabular-nums; }
form { display: flex; gap: .5rem; margin-bottom: .8rem; }
input { flex: 1; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
button { padding: .45rem 1rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: .72rem; text-transform: uppercase; letter-spacing: .05em; }
th, td { padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.nodes th[scope="row"] { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .82rem; font-weight: 500; text-transform: none; letter-spacing: 0; color: var(--fg); }
.tag { margin-left: .5rem; padding: .05rem .45rem; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); font: .68rem system-ui, sans-serif; }
.events td:last-child { word-break: break-all; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
[hidden] { display: none !important; }
`;

// Plain DOM code, no template literals and no backslashes: it is embedded in a TypeScript template string.
const PAGE_SCRIPT = `
const config = JSON.parse(document.getElementById('rw-config').textContent);
const $ = (id) => document.getElementById(id);
const MAX_EVENTS = 50;
const TOKEN_KEY = 'roomwire.statusToken';
const HISTORY = config.historyPolls;
let client = null;
let resolveServices;
const servicesKnown = new Promise((resolve) => { resolveServices = resolve; });

// Per node: the last snapshot's eventsDelivered and ts, and the rate computed from the one before.
const deliveries = new Map();
const history = { connections: [], rate: [], p99: [] };
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

function uptime(s) {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return d + 'd ' + h + 'h';
  if (h > 0) return h + 'h ' + m + 'm';
  if (m > 0) return m + 'm ' + (s % 60) + 's';
  return s + 's';
}

const ms = (n) => (n < 10 ? decimal.format(n) : integer.format(n)) + ' ms';
const formats = {
  connections: (n) => integer.format(n),
  rate: (n) => (n < 10 ? decimal.format(n) : integer.format(n)),
  p99: ms,
};

function orDash(value, format) {
  return value === null || value === undefined ? '–' : format(value);
}

/** Events delivered per second by one node, from the change of its cumulative counter between snapshots. */
function deliveryRate(node) {
  const last = deliveries.get(node.nodeId);
  let rate = null;
  if (last && node.ts === last.ts) rate = last.rate;
  else if (last && node.ts > last.ts) {
    // A restarted node starts counting from zero again.
    const delta = node.eventsDelivered >= last.delivered ? node.eventsDelivered - last.delivered : node.eventsDelivered;
    rate = delta / ((node.ts - last.ts) / 1000);
  }
  deliveries.set(node.nodeId, { delivered: node.eventsDelivered, ts: node.ts, rate });
  return rate;
}

function record(key, value) {
  const values = history[key];
  values.push(value);
  while (values.length > HISTORY) values.shift();
}

const SVG_WIDTH = ${SPARK_WIDTH};
const SVG_HEIGHT = ${SPARK_HEIGHT};

/** Redraws one sparkline over the polls so far (up to HISTORY), with a gap where a value is missing. */
function drawSpark(key) {
  const values = history[key];
  const format = formats[key];
  const svg = $('spark-' + key);
  const known = values.filter((v) => v !== null);
  const peak = known.length > 0 ? Math.max(...known) : 0;
  const top = peak > 0 ? peak : 1;
  const x = (i) => (values.length > 1 ? (i / (values.length - 1)) * SVG_WIDTH : SVG_WIDTH);
  const y = (v) => SVG_HEIGHT - 1 - (v / top) * (SVG_HEIGHT - 4);
  let line = '';
  let area = '';
  let run = [];
  const flush = () => {
    if (run.length === 0) return;
    const points = run.map((p) => p[0].toFixed(1) + ' ' + p[1].toFixed(1));
    line += 'M' + points.join('L') + (run.length === 1 ? 'h0' : '');
    area += 'M' + run[0][0].toFixed(1) + ' ' + SVG_HEIGHT + 'L' + points.join('L') + 'L' + run[run.length - 1][0].toFixed(1) + ' ' + SVG_HEIGHT + 'Z';
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null) flush();
    else run.push([x(i), y(v)]);
  });
  flush();
  svg.querySelector('.line').setAttribute('d', line);
  svg.querySelector('.area').setAttribute('d', area);
  svg.dataset.points = String(known.length);
  const now = values.length > 0 ? values[values.length - 1] : null;
  svg.setAttribute('aria-label', svg.dataset.description + ': ' + (known.length === 0
    ? 'no data yet'
    : 'now ' + orDash(now, format) + ', peak ' + format(peak) + ', over the last ' + values.length + ' polls'));
  $('peak-' + key).textContent = known.length > 0 ? 'peak ' + format(peak) : '';
}

function cell(tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function renderNodes(nodes, rates, selfId) {
  const rows = nodes.map((node) => {
    const row = document.createElement('tr');
    row.dataset.nodeId = node.nodeId;
    const name = cell('th', node.nodeId);
    name.scope = 'row';
    if (node.nodeId === selfId) name.append(cell('span', 'this node', 'tag'));
    row.append(name);
    const columns = [
      ['connections', integer.format(node.connections)],
      ['subscriptions', integer.format(node.subscriptions)],
      ['rate', orDash(rates.get(node.nodeId), formats.rate)],
      ['p50', node.latencyMs ? ms(node.latencyMs.p50) : '–'],
      ['p99', node.latencyMs ? ms(node.latencyMs.p99) : '–'],
      ['uptime', uptime(node.uptimeS)],
    ];
    for (const column of columns) {
      const td = cell('td', column[1], 'num');
      td.dataset.col = column[0];
      row.append(td);
    }
    return row;
  });
  if (rows.length === 0) {
    const row = document.createElement('tr');
    const td = cell('td', 'No node has reported yet.', 'muted');
    td.colSpan = 7;
    row.append(td);
    rows.push(row);
  }
  $('nodes').replaceChildren(...rows);
}

function renderCluster(s) {
  const nodes = Array.isArray(s.nodes) ? s.nodes : [];
  const rates = new Map();
  for (const node of nodes) rates.set(node.nodeId, deliveryRate(node));
  for (const id of Array.from(deliveries.keys())) {
    if (!rates.has(id)) deliveries.delete(id);
  }
  const sum = (pick) => nodes.reduce((total, node) => total + pick(node), 0);
  const knownRates = Array.from(rates.values()).filter((r) => r !== null);
  const latencies = nodes.filter((node) => node.latencyMs).map((node) => node.latencyMs.p99);
  const totals = {
    connections: nodes.length > 0 ? sum((node) => node.connections) : null,
    rate: knownRates.length > 0 ? knownRates.reduce((a, b) => a + b, 0) : null,
    p99: latencies.length > 0 ? Math.max(...latencies) : null,
  };
  $('total-nodes').textContent = String(nodes.length);
  $('total-subscriptions').textContent = nodes.length > 0 ? integer.format(sum((node) => node.subscriptions)) : '–';
  for (const key of Object.keys(history)) {
    $('total-' + key).textContent = orDash(totals[key], formats[key]);
    record(key, totals[key]);
    drawSpark(key);
  }
  renderNodes(nodes, rates, s.nodeId);
}

function unreachable() {
  $('health').className = 'dot bad';
  $('health').title = 'unreachable';
  $('health').setAttribute('aria-label', 'node unreachable');
  for (const key of Object.keys(history)) {
    record(key, null);
    drawSpark(key);
  }
}

async function poll() {
  let s;
  try {
    const res = await fetch('/v1/status', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    s = await res.json();
  } catch {
    unreachable();
    return;
  }
  $('health').className = 'dot ok';
  $('health').title = 'up';
  $('health').setAttribute('aria-label', 'node up');
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  $('connections').textContent = String(s.connections);
  $('rooms').textContent = String(s.rooms);
  $('uptime').textContent = uptime(s.uptimeS);
  $('services').textContent = s.services.join(', ') || '—';
  const present = s.presence && typeof s.presence === 'object' ? Object.entries(s.presence) : [];
  $('presence').textContent = present.map(([service, p]) => service + ' ' + p.users + ' · ' + p.connections).join(', ') || '—';
  resolveServices(s.services);
  renderCluster(s);
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
  for (const text of cells) row.append(cell('td', String(text)));
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

// One poll at a time: a slow answer is not overtaken by the next, which would garble the rates.
async function pollForever() {
  await poll();
  setTimeout(pollForever, ${POLL_INTERVAL_MS});
}
void pollForever();

if (config.devToken) {
  void watch(config.devToken);
} else {
  $('token-form').hidden = false;
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) void watch(saved);
  else feedState('paste a token to watch events');
}
`;
