/**
 * A lean protocol-level load client: one raw `ws` WebSocket that speaks just enough Engine.IO 4 /
 * Socket.IO 5 (see shared/PROTOCOL.md §1–4) to join a room and count what it receives, for the
 * saturation and overload measurements, where the load generator must not be the limit.
 *
 * What it does per packet, and nothing more:
 * - `0{…}` (Engine.IO open) → sends CONNECT: `40` (baseline) or `40{"token":…,"v":1}` (Roomwire);
 * - `2` (ping) → `3` (pong);
 * - `40{…}` (connected) → the baseline is in its room (joined from the handshake query); Roomwire
 *   sends `420["rw:subscribe",{"services":[…]}]` and is up on its ack `430[{"ok":true,…}]`;
 * - `42["rw:event",…]` / `42["event",…]` → scans the text for each envelope's `"ts":` and the
 *   payload's `"amountCents":` (no JSON.parse, no event emitter);
 * - `451-["rw:event",…]` + one binary message (a compressed Roomwire frame) → raw-inflates the
 *   attachment and scans it the same way.
 *
 * No recovery and no deduplication: after a drop it reconnects with backoff as a new session (missed
 * events count as missed). That is fine where it is used: no scenario cuts lean clients.
 */
import { inflateRawSync } from 'node:zlib';
import WebSocket from 'ws';
import type { BenchClient, ClientHooks, ClientTarget } from './bench-client';

/** How a lean client joins its room. */
export type LeanJoin =
  /** Roomwire: a token in the CONNECT packet, then `rw:subscribe` to `services`. */
  | { kind: 'roomwire'; token: string; services: string[]; protocolVersion: number }
  /** Plain Socket.IO (the baseline server): the room named in the handshake query. */
  | { kind: 'baseline'; room: string };

/** What a lean client received, by kind of packet. */
export interface LeanClientStats {
  /** Text event packets (`42[…]`) that carried deliveries. */
  eventPackets: number;
  /** Compressed frames (binary attachments) inflated. */
  compressedFrames: number;
  /** Connections opened (1 + reconnects). */
  connections: number;
}

/** A lean client: closes like any bench client, and counts what it received. */
export interface LeanClient extends BenchClient {
  stats(): LeanClientStats;
}

const TS_KEY = '"ts":';
const AMOUNT_KEY = '"amountCents":';
const ROOMWIRE_EVENT = '42["rw:event",';
const BASELINE_EVENT = '42["event",';
const ROOMWIRE_BINARY_EVENT = '451-["rw:event",';
const SUBSCRIBE_ACK_ID = 0;

/**
 * Calls `onDelivery` for each envelope in `text` (a Socket.IO event packet or an inflated frame): each
 * `"ts":<number>` followed by the next `"amountCents":<integer>`. Why a scan: the load generator's
 * cost per delivery must stay far below the system's, and a JSON parse of every packet is most of it.
 * @returns how many deliveries it found
 */
export function scanDeliveries(text: string, onDelivery: (ts: number, amountCents: number) => void): number {
  let found = 0;
  let at = 0;
  for (;;) {
    const tsAt = text.indexOf(TS_KEY, at);
    if (tsAt < 0) return found;
    const ts = readNumber(text, tsAt + TS_KEY.length);
    const amountAt = text.indexOf(AMOUNT_KEY, tsAt);
    if (amountAt < 0 || Number.isNaN(ts)) return found;
    const amount = readNumber(text, amountAt + AMOUNT_KEY.length);
    if (Number.isNaN(amount)) return found;
    onDelivery(ts, amount);
    found += 1;
    at = amountAt + AMOUNT_KEY.length;
  }
}

/** A non-negative decimal number starting at `from` (digits and at most one fraction); NaN if none. */
function readNumber(text: string, from: number): number {
  let value = 0;
  let i = from;
  let digits = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
    digits += 1;
  }
  if (digits === 0) return NaN;
  if (text.charCodeAt(i) === 46 /* . */) {
    let scale = 0.1;
    for (i += 1; i < text.length; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      value += c * scale;
      scale /= 10;
    }
  }
  return value;
}

/** The WebSocket URL of a Socket.IO server at `httpUrl` (default path `/socket.io/`). */
function socketUrl(httpUrl: string, join: LeanJoin): string {
  const url = new URL('/socket.io/', httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('EIO', '4');
  url.searchParams.set('transport', 'websocket');
  if (join.kind === 'baseline') url.searchParams.set('room', join.room);
  return url.toString();
}

/**
 * Opens a lean client on `target.url` and keeps it connected (reconnecting with `target.reconnect`'s
 * backoff) until `close()`. `hooks.onEvent` gets `{ amountCents }` as its data, enough for the
 * benchmark's payload tags (see `publish/payload.ts`).
 */
export function openLeanClient(target: ClientTarget, join: LeanJoin, hooks: ClientHooks): LeanClient {
  const url = socketUrl(target.url, join);
  const eventPrefix = join.kind === 'roomwire' ? ROOMWIRE_EVENT : BASELINE_EVENT;
  const connectPacket = join.kind === 'roomwire' ? `40${JSON.stringify({ token: join.token, v: join.protocolVersion })}` : '40';
  const subscribePacket = join.kind === 'roomwire' ? `42${SUBSCRIBE_ACK_ID}${JSON.stringify(['rw:subscribe', { services: join.services }])}` : '';
  // One object per client, reused for every delivery: the tracker reads it synchronously.
  const tag = { amountCents: 0 };
  const deliver = (ts: number, amountCents: number): void => {
    tag.amountCents = amountCents;
    hooks.onEvent(ts, tag);
  };

  let ws: WebSocket | null = null;
  let closed = false;
  let up = false;
  let failures = 0;
  let retry: NodeJS.Timeout | null = null;
  /** A compressed frame's text packet arrived; its attachment is the next binary message. */
  let awaitingAttachment = false;
  const stats: LeanClientStats = { eventPackets: 0, compressedFrames: 0, connections: 0 };

  const markUp = (): void => {
    up = true;
    failures = 0;
    hooks.onUp(false);
  };

  const onText = (socket: WebSocket, text: string): void => {
    if (text.startsWith(eventPrefix)) {
      stats.eventPackets += 1;
      scanDeliveries(text, deliver);
      return;
    }
    switch (text.charCodeAt(0)) {
      case 50 /* 2: ping */:
        socket.send('3');
        return;
      case 48 /* 0: open */:
        socket.send(connectPacket);
        return;
      case 49 /* 1: close */:
        socket.terminate();
        return;
      default:
        break;
    }
    if (text.startsWith(ROOMWIRE_BINARY_EVENT)) {
      awaitingAttachment = true;
    } else if (text.startsWith('40')) {
      if (join.kind === 'roomwire') socket.send(subscribePacket);
      else markUp();
    } else if (text.startsWith(`43${SUBSCRIBE_ACK_ID}[`)) {
      if (text.startsWith(`43${SUBSCRIBE_ACK_ID}[{"ok":true`)) markUp();
      else socket.terminate();
    } else if (text.startsWith('44')) {
      // CONNECT_ERROR: the server refused the handshake; retry with backoff.
      socket.terminate();
    }
  };

  const connect = (): void => {
    retry = null;
    if (closed) return;
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
    ws = socket;
    stats.connections += 1;
    awaitingAttachment = false;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        if (!awaitingAttachment) return;
        awaitingAttachment = false;
        stats.compressedFrames += 1;
        scanDeliveries(inflateRawSync(data).toString('utf8'), deliver);
        return;
      }
      onText(socket, data.toString('utf8'));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (ws !== socket) return;
      ws = null;
      if (up) {
        up = false;
        hooks.onDown();
      }
      if (!closed) scheduleReconnect();
    });
  };

  const scheduleReconnect = (): void => {
    failures += 1;
    const { minDelayMs, maxDelayMs, jitter } = target.reconnect;
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(failures - 1, 16));
    retry = setTimeout(connect, Math.max(0, base * (1 + jitter * (2 * Math.random() - 1))));
  };

  connect();
  return {
    stats: () => ({ ...stats }),
    close: () => {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = null;
      ws?.terminate();
      ws = null;
    },
  };
}
