import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { nodeDefaults, type RoomwireNode } from '@roomwire/server';
import type { EventEnvelope } from '@roomwire/shared';
import { waitUntil } from './harness';
import { startCluster, type TestCluster } from './support/cluster';
import { MAX_PAYLOAD_BYTES, garbage, hostileFrame, type HostileFrame } from './support/hostile-frames';
import { createRng, isDocumentedCode, type Rng } from './support/hostile-sockets';
import { signToken, uniqueOrg } from './support/tokens';

/** Reproduce a failure with `HOSTILE_SEED=<seed> npx jest test/hostile-frames`. */
const SEED = Number(process.env.HOSTILE_SEED ?? 0x5eed5eed);
const FRAMES_PER_TRANSPORT = 5000;
const WORKERS_PER_TRANSPORT = 4;
/**
 * How long the fuzzer waits for the node to answer (a WebSocket opened, a CONNECT, acks, a close, an HTTP
 * request) before it counts a violation. A bound that finds a hang, not a speed bar: every wait ends as
 * soon as the answer comes, and on a busy 2-core machine the node shares its process with eight fuzzing
 * workers and its event loop stalls for a second or more.
 */
const ANSWER_TIMEOUT_MS = 10_000;
/**
 * How long the node may take to drop every fuzz connection once the fuzzer is done. Most end at once,
 * but a session the fuzzer left without a close reaching the node (a long poll it abandoned before a
 * busy node read it) ends only when the node's ping goes unanswered: ping interval plus ping timeout.
 */
const CONNECTIONS_GONE_MS = nodeDefaults.pingIntervalMs + nodeDefaults.pingTimeoutMs + ANSWER_TIMEOUT_MS;
/** Frames on one connection before the fuzzer opens a new one (the node closes many sooner). */
const MAX_FRAMES_PER_CONNECTION = 40;
/** Close codes a node may end a hostile WebSocket with: normal, no status (Engine.IO's close), message too big. */
const CLEAN_CLOSE_CODES = new Set([1000, 1005, 1009]);
/** Statuses Engine.IO answers polling requests with: ok, bad request (codes 0–5), forbidden, payload too large. */
const POLLING_STATUSES = new Set([200, 400, 403, 413]);
/** What a hostile request may be refused with. */
const INPUT_ERROR_CODES = new Set(['RW_ERR_INVALID_REQUEST', 'RW_ERR_UNKNOWN_EVENT', 'RW_ERR_FORBIDDEN', 'RW_ERR_RATE_LIMITED']);

let cluster: TestCluster;
let node: RoomwireNode;
let org: string;
let fuzzToken: string;

beforeAll(async () => {
  // One test IP opens thousands of connections: the handshake limit per IP is not what is fuzzed here.
  cluster = await startCluster({ nodes: 1, node: { rateLimits: { handshakesPerIpPer10s: 1_000_000 } } });
  node = cluster.nodes[0] as RoomwireNode;
  // When the node closes a polling session (a parse error, a bad method), engine.io keeps a 30 s timer
  // waiting for the client's next poll to hand it the close packet; the fuzzer never polls again, and
  // each such timer (hundreds per run) would hold this jest worker open for 30 s after the file. The
  // node runs in this process, so its polling transports get a 1 s wait instead (an engine.io field).
  node.io.engine.on('connection', (socket: { transport?: { closeTimeout?: number } }) => {
    if (socket.transport && typeof socket.transport.closeTimeout === 'number') socket.transport.closeTimeout = 1000;
  });
  org = uniqueOrg('fuzz');
  // The fuzzer's sockets share the legitimate client's org and rooms: churn there must not cost it events.
  fuzzToken = await signToken({ org, services: '*' });
});

afterAll(async () => {
  await cluster?.cleanup();
});

/** What the fuzzer saw; `violations` lists every outcome that is not a clean refusal. */
interface FuzzReport {
  frames: { websocket: number; polling: number };
  connections: { websocket: number; polling: number };
  closeCodes: Record<string, number>;
  statuses: Record<string, number>;
  acks: { ok: number; refused: Record<string, number> };
  /** Waits that took longer than 500 ms, by what was awaited. */
  slowWaits: Record<string, number>;
  violations: string[];
}

async function timed<T>(report: FuzzReport, label: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work;
  } finally {
    if (Date.now() - started > 500) bump(report.slowWaits, label);
  }
}

function newReport(): FuzzReport {
  return { frames: { websocket: 0, polling: 0 }, connections: { websocket: 0, polling: 0 }, closeCodes: {}, statuses: {}, acks: { ok: 0, refused: {} }, slowWaits: {}, violations: [] };
}

const bump = (counts: Record<string, number>, key: string | number): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const preview = (data: string | Buffer): string => (typeof data === 'string' ? JSON.stringify(data.slice(0, 120)) : `<${data.length} binary bytes>`);

/** Checks one Socket.IO ACK packet (`43<id>[…]`) from the node and records the request as answered. */
function checkAck(text: string, answered: Set<number>, sent: Map<number, string>, report: FuzzReport): void {
  const match = /^43(\d+)(.*)$/s.exec(text);
  if (!match) return;
  answered.add(Number(match[1]));
  const asked = sent.get(Number(match[1])) ?? '?';
  let args: unknown;
  try {
    args = JSON.parse(match[2] as string);
  } catch {
    report.violations.push(`ack that is not JSON: ${preview(text)}`);
    return;
  }
  const ack = Array.isArray(args) ? (args[0] as { ok?: unknown; error?: { code?: unknown; message?: unknown } } | undefined) : undefined;
  if (ack?.ok === true) report.acks.ok += 1;
  else if (ack?.ok === false && isDocumentedCode(ack.error?.code) && typeof ack.error?.message === 'string') bump(report.acks.refused, ack.error.code as string);
  else report.violations.push(`malformed or undocumented ack: ${preview(text)}`);
  // Hostile input is the client's fault, and Redis is up: an internal or unavailable answer is a wrong code.
  if (ack?.ok === false && INPUT_ERROR_CODES.has(String(ack.error?.code)) === false) report.violations.push(`a hostile request answered ${String(ack.error?.code)}: ${preview(asked)} → ${preview(text)}`);
}

/** One raw WebSocket connection: Engine.IO open packet awaited, every message from the node observed. */
class FuzzWebSocket {
  readonly ws: WebSocket;
  closeCode: number | undefined;
  connected = false;
  readonly answered = new Set<number>();
  /** The requests sent with an ack id, to name them in violations. */
  readonly sent = new Map<number, string>();
  private readonly waiters = new Set<() => void>();

  private constructor(url: string, private readonly report: FuzzReport, readonly opened: Promise<boolean>) {
    this.ws = new WebSocket(url, { maxPayload: 1024 * 1024 });
  }

  static async open(port: number, report: FuzzReport): Promise<FuzzWebSocket | undefined> {
    let resolveOpened!: (ok: boolean) => void;
    const opened = new Promise<boolean>((resolve) => (resolveOpened = resolve));
    const conn = new FuzzWebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, report, opened);
    conn.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : String(data);
      if (text.startsWith('0{')) resolveOpened(true);
      else if (text === '2') conn.ws.send('3');
      else if (text.startsWith('40{')) conn.connected = true;
      else if (text.startsWith('44')) conn.checkConnectError(text);
      else if (text.startsWith('43')) checkAck(text, conn.answered, conn.sent, report);
      conn.wake();
    });
    conn.ws.on('error', () => undefined);
    conn.ws.on('close', (code) => {
      conn.closeCode = code;
      resolveOpened(false);
      conn.wake();
    });
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([opened, new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ANSWER_TIMEOUT_MS, false)))]).finally(() => clearTimeout(timer));
    if (!ok) {
      conn.ws.terminate();
      return undefined;
    }
    return conn;
  }

  get open(): boolean {
    return this.closeCode === undefined && this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves when `predicate` holds or the connection closes; false after `timeoutMs`. */
  async until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate() && this.closeCode === undefined && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return predicate();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  private checkConnectError(text: string): void {
    this.answered.add(-1);
    const json = text.replace(/^44(\/[^,]*,)?/, '');
    try {
      const payload = JSON.parse(json) as { message?: unknown; data?: { code?: unknown } };
      // The main namespace refuses with a Roomwire code; other namespaces with Socket.IO's "Invalid namespace".
      if (typeof payload.message !== 'string' || (!text.startsWith('44/') && !isDocumentedCode(payload.data?.code))) {
        this.report.violations.push(`CONNECT_ERROR without a documented code: ${preview(text)}`);
      }
    } catch {
      this.report.violations.push(`CONNECT_ERROR that is not JSON: ${preview(text)}`);
    }
  }
}

async function websocketWorker(budget: { left: number }, rng: Rng, report: FuzzReport): Promise<void> {
  const port = Number(new URL(node.url).port);
  let ackId = 0;
  while (budget.left > 0) {
    const conn = await FuzzWebSocket.open(port, report);
    report.connections.websocket += 1;
    if (!conn) {
      budget.left -= 1; // a connection that fails to open spends budget too: the loop stays bounded
      report.violations.push('a WebSocket connection could not be opened');
      continue;
    }
    const tracked: number[] = [];
    let closedByFuzzer = false;
    for (let i = rng.int(1, MAX_FRAMES_PER_CONNECTION); i > 0 && budget.left > 0 && conn.open; i--) {
      const frame: HostileFrame = hostileFrame(rng, fuzzToken, conn.connected, () => (ackId += 1));
      const size = typeof frame.data === 'string' ? Buffer.byteLength(frame.data) : frame.data.length;
      const huge = frame.huge === true || size > MAX_PAYLOAD_BYTES;
      const wasConnected = conn.connected;
      budget.left -= 1;
      report.frames.websocket += 1;
      conn.ws.send(frame.data, { binary: typeof frame.data !== 'string' });
      if (frame.attachment && !huge) conn.ws.send(frame.attachment, { binary: true });
      if (huge) {
        // Over maxHttpBufferSize: the node must refuse it by closing, with 1009 (message too big).
        // The close may be another frame's doing (frames are not awaited one by one); 1009 is checked on its own below.
        await timed(report, 'huge', conn.until(() => conn.closeCode !== undefined, ANSWER_TIMEOUT_MS));
        if (conn.closeCode === undefined || !CLEAN_CLOSE_CODES.has(conn.closeCode)) {
          report.violations.push(`a ${size}-byte frame was not refused by a close (close code ${String(conn.closeCode)})`);
        }
        break;
      }
      if (frame.connect && !wasConnected) {
        conn.answered.delete(-1);
        const answered = await timed(report, 'connect', conn.until(() => conn.connected || conn.answered.has(-1), ANSWER_TIMEOUT_MS));
        if (!answered && conn.open) report.violations.push(`CONNECT left unanswered: ${preview(frame.data)}`);
      }
      if (frame.ackId !== undefined && wasConnected) {
        tracked.push(frame.ackId);
        conn.sent.set(frame.ackId, frame.data as string);
      }
      if (i % 8 === 0) await delay(1);
      else await new Promise((resolve) => setImmediate(resolve));
    }
    if (conn.open && conn.connected && tracked.length > 0) {
      // Requests run in order and are answered in order: once the last one is answered, all are.
      const last = tracked[tracked.length - 1] as number;
      const done = await timed(report, 'acks', conn.until(() => conn.answered.has(last), ANSWER_TIMEOUT_MS));
      const missing = tracked.filter((id) => !conn.answered.has(id));
      if (conn.open && (!done || missing.length > 0)) report.violations.push(`requests left unanswered on an open connection: ack ids ${missing.slice(0, 5).join(', ')}`);
    }
    if (conn.open) {
      closedByFuzzer = true;
      conn.ws.close(1000);
    }
    await timed(report, 'close', conn.until(() => false, ANSWER_TIMEOUT_MS));
    if (conn.closeCode === undefined) {
      conn.ws.terminate();
      report.violations.push(`a WebSocket did not close within ${ANSWER_TIMEOUT_MS / 1000} s`);
    } else if (!closedByFuzzer) {
      bump(report.closeCodes, conn.closeCode);
      if (!CLEAN_CLOSE_CODES.has(conn.closeCode)) report.violations.push(`the node closed a WebSocket with code ${conn.closeCode}`);
    }
  }
}

/** A polling request; network errors are returned, not thrown. */
async function pollOnce(
  base: string,
  query: string,
  init: { method?: string; body?: string | Buffer; contentType?: string; timeoutMs?: number } = {},
): Promise<{ status: number; text: string } | { error: string }> {
  try {
    const res = await fetch(`${base}/socket.io/?${query}`, {
      method: init.method ?? 'GET',
      ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : new Uint8Array(init.body) }),
      headers: init.contentType === undefined ? {} : { 'Content-Type': init.contentType },
      signal: AbortSignal.timeout(init.timeoutMs ?? ANSWER_TIMEOUT_MS),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    return { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

async function pollingWorker(budget: { left: number }, rng: Rng, report: FuzzReport): Promise<void> {
  const base = node.url;
  let ackId = 0;
  let last = '';
  const poll = (b: string, query: string, init: Parameters<typeof pollOnce>[2] = {}) => {
    last = `${init.method ?? 'GET'} ?${query.slice(0, 60)} ${init.contentType ?? ''} ${preview(init.body ?? '')}`;
    return pollOnce(b, query, init);
  };
  while (budget.left > 0) {
    report.connections.polling += 1;
    const handshake = await poll(base, 'EIO=4&transport=polling');
    const sid = 'status' in handshake && handshake.status === 200 ? (/"sid":"([^"]+)"/.exec(handshake.text)?.[1] ?? '') : '';
    if (!sid) {
      budget.left -= 1;
      report.violations.push(`a polling handshake failed: ${JSON.stringify(handshake).slice(0, 200)}`);
      continue;
    }
    const session = `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    let alive = true;
    let connected = false;
    for (let i = rng.int(1, MAX_FRAMES_PER_CONNECTION); i > 0 && budget.left > 0 && alive; i--) {
      budget.left -= 1;
      report.frames.polling += 1;
      const r = rng.next();
      let res: Awaited<ReturnType<typeof poll>>;
      let huge = false;
      let mayAbort = false;
      let ownSession = true;
      let oddMethod = false;
      if (r < 0.01) {
        huge = true;
        res = await poll(base, session, { method: 'POST', body: `4${garbage(rng, rng.int(MAX_PAYLOAD_BYTES + 1, 300_000))}`, contentType: 'text/plain;charset=UTF-8' });
      } else if (r < 0.08) {
        ownSession = false;
        res = await poll(base, rng.pick(['EIO=3&transport=polling', 'EIO=abc&transport=polling', 'EIO=4&transport=bogus', 'EIO=4&transport=polling&sid=nope', `EIO=4&transport=polling&sid=${'s'.repeat(5000)}`, 'transport=polling', '', `${session}&EIO=5`]), {
          method: rng.pick(['GET', 'POST']),
          body: undefined,
        });
      } else if (r < 0.1) {
        oddMethod = true;
        res = await poll(base, session, { method: rng.pick(['PUT', 'DELETE', 'PATCH']), body: 'x' });
      } else if (r < 0.13) {
        res = await poll(base, session, { method: 'POST', body: Buffer.from(garbage(rng, 50)), contentType: 'application/octet-stream' });
      } else if (r < 0.16) {
        // A long poll the fuzzer abandons: the node closes the session ("poll connection closed prematurely").
        mayAbort = true;
        res = await poll(base, session, { timeoutMs: 200 });
      } else {
        // One to four hostile packets in one payload, separated as Engine.IO v4 separates them.
        const packets: string[] = [];
        let expectsConnect = false;
        for (let k = rng.int(1, 4); k > 0; k--) {
          const frame = hostileFrame(rng, fuzzToken, connected, () => (ackId += 1));
          if (frame.huge) continue;
          packets.push(typeof frame.data === 'string' ? frame.data : `b${frame.data.toString('base64')}`);
          if (frame.attachment) packets.push(`b${frame.attachment.toString('base64')}`);
          if (frame.connect && !connected) expectsConnect = true;
        }
        const body = packets.join('\x1e').slice(0, MAX_PAYLOAD_BYTES);
        res = await poll(base, session, { method: 'POST', body, contentType: rng.pick(['text/plain;charset=UTF-8', 'application/json', 'text/html']) });
        if (expectsConnect && 'status' in res && res.status === 200) {
          const answer = await timed(report, 'poll-connect', poll(base, session, { timeoutMs: 2000 }));
          if ('status' in answer && answer.status === 200) {
            if (answer.text.includes('40{')) connected = true;
          } else if ('error' in answer) {
            mayAbort = true;
          }
        }
      }
      if ('error' in res) {
        // A huge body may be cut off by the 413 and the close; an abandoned long poll is aborted by us.
        if (!huge && !mayAbort) report.violations.push(`a polling request failed without an HTTP answer: ${res.error}`);
        if (mayAbort) alive = false;
        continue;
      }
      bump(report.statuses, res.status);
      // Engine.IO answers another method on a live polling session with an empty 500 (its code, not Roomwire's).
      const engineMethodError = res.status === 500 && oddMethod && res.text === '';
      if (!POLLING_STATUSES.has(res.status) && !engineMethodError) report.violations.push(`polling answered ${res.status} to ${last}: ${res.text.slice(0, 120)}`);
      // An earlier packet of the fuzzer may already have closed the session: then "Session ID unknown" is right.
      const sessionGone = res.status === 400 && /"code":1\b/.test(res.text);
      if (huge && res.status !== 413 && !sessionGone) report.violations.push(`an oversized polling body was answered ${res.status}, not 413: ${res.text.slice(0, 120)}`);
      // The node closed our session (a parse error, a bad method…): open a new one.
      if (ownSession && res.status === 400) alive = false;
    }
    if (alive) await poll(base, session, { method: 'POST', body: '1', contentType: 'text/plain;charset=UTF-8' });
  }
}

async function fuzz(seed: number, framesPerTransport: number, report: FuzzReport): Promise<void> {
  const ws = { left: framesPerTransport };
  const polling = { left: framesPerTransport };
  await Promise.all([
    ...Array.from({ length: WORKERS_PER_TRANSPORT }, (_, i) => websocketWorker(ws, createRng(seed + i), report)),
    ...Array.from({ length: WORKERS_PER_TRANSPORT }, (_, i) => pollingWorker(polling, createRng(seed + 1000 + i), report)),
  ]);
}

/**
 * `gc` from `--expose-gc` when jest was started with it; otherwise the flag is set at run time and the
 * function taken from a fresh context (a documented V8 idiom). Undefined if neither works.
 */
function findGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Heap in use after full collections; without `gc`, the lowest of several samples after a settle. */
async function settledHeapBytes(gc: (() => void) | undefined): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    await delay(gc ? 50 : 400);
    gc?.();
    samples.push(process.memoryUsage().heapUsed);
  }
  return Math.min(...samples);
}

async function noFuzzConnectionsLeft(legitimate: number): Promise<void> {
  const preConnect = (node.io.of('/') as unknown as { _preConnectSockets?: Map<string, unknown> })._preConnectSockets;
  await waitUntil(() => node.io.engine.clientsCount === legitimate && node.io.of('/').sockets.size === legitimate && (preConnect?.size ?? 0) === 0, {
    what: `the node back to ${legitimate} connection(s) (engine ${node.io.engine.clientsCount}, sockets ${node.io.of('/').sockets.size}, half-open ${preConnect?.size ?? 0})`,
    timeoutMs: CONNECTIONS_GONE_MS,
    intervalMs: 50,
  });
}

test('a frame over 64 KiB is refused by closing: 1009 over WebSocket, 413 over polling', async () => {
  const report = newReport();
  const conn = await FuzzWebSocket.open(Number(new URL(node.url).port), report);
  expect(conn).toBeDefined();
  conn?.ws.send(`42["rw:subscribe",{"services":["${'a'.repeat(MAX_PAYLOAD_BYTES)}"]}]`);
  await conn?.until(() => conn.closeCode !== undefined, ANSWER_TIMEOUT_MS);
  expect(conn?.closeCode).toBe(1009);

  const handshake = await pollOnce(node.url, 'EIO=4&transport=polling');
  const sid = 'status' in handshake ? /"sid":"([^"]+)"/.exec(handshake.text)?.[1] : undefined;
  expect(sid).toBeDefined();
  const res = await pollOnce(node.url, `EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: `4${'a'.repeat(MAX_PAYLOAD_BYTES)}`, contentType: 'text/plain;charset=UTF-8' });
  expect(res).toMatchObject({ status: 413 });
  await pollOnce(node.url, `EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '1', contentType: 'text/plain;charset=UTF-8' });
  await noFuzzConnectionsLeft(0);
});

test(`10 000 hostile frames over WebSocket and polling (seed ${SEED}): no crash, no lost event, no memory growth`, async () => {
  const client = cluster.client({ token: await signToken({ org, services: ['billing'] }), services: ['billing'] });
  const received: EventEnvelope[] = [];
  const resyncs: unknown[] = [];
  client.onEvent((e) => received.push(e));
  client.onResync((info) => resyncs.push(info));
  await waitUntil(() => client.state === 'connected', { what: 'the legitimate client connected' });
  const publish = async (label: string, i: number): Promise<string> => (await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: `${label}_${i}`, amountCents: i })).id;

  // Warm-up: the same code paths, so lazily built state (parsers, caches, JIT) is in the baseline.
  const warmUp = newReport();
  await fuzz(SEED ^ 0xffff, 300, warmUp);
  const warmIds: string[] = [];
  for (let i = 0; i < 10; i++) warmIds.push(await publish('warm', i));
  await waitUntil(() => received.length === warmIds.length, { what: 'the warm-up events' });
  await noFuzzConnectionsLeft(1);
  const gc = findGc();
  const baseline = await settledHeapBytes(gc);

  const report = newReport();
  const started = Date.now();
  let fuzzing = true;
  const fuzzed = fuzz(SEED, FRAMES_PER_TRANSPORT, report).finally(() => (fuzzing = false));
  const ids: string[] = [];
  const health: number[] = [];
  // Bounded loops: one event every 20 ms and one health check every 250 ms while the fuzzer runs.
  const publishing = (async () => {
    for (let i = 0; fuzzing && i < 2000; i++) {
      ids.push(await publish('fuzz', i));
      await delay(20);
    }
  })();
  const checking = (async () => {
    for (let i = 0; fuzzing && i < 400; i++) {
      health.push((await fetch(`${node.url}/healthz`, { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) })).status);
      await delay(250);
    }
  })();
  await Promise.all([fuzzed, publishing, checking]);
  const fuzzMs = Date.now() - started;

  if (process.env.HOSTILE_VERBOSE) console.log(JSON.stringify({ fuzzMs, ...report, violations: report.violations.slice(0, 40) }, null, 1));
  expect(report.frames).toEqual({ websocket: FRAMES_PER_TRANSPORT, polling: FRAMES_PER_TRANSPORT });
  const violations = [...warmUp.violations, ...report.violations];
  expect({ seed: SEED, violations: violations.slice(0, 20), count: violations.length }).toEqual({ seed: SEED, violations: [], count: 0 });
  expect(health.length).toBeGreaterThan(0);
  expect(health.every((s) => s === 200)).toBe(true);

  // Every event published during the fuzzing arrived, once, in order, on the original connection.
  expect(ids.length).toBeGreaterThan(20);
  await waitUntil(() => received.length >= warmIds.length + ids.length, { what: `${ids.length} events for the legitimate client`, timeoutMs: 10_000 });
  expect(received.map((e) => e.id)).toEqual([...warmIds, ...ids]);
  expect(resyncs).toEqual([]);
  expect(client.metrics().totalDisconnects).toBe(0);
  expect(client.state).toBe('connected');

  // Everything the fuzzer opened is gone, and the heap is back near its warm baseline. The node runs in
  // this process, so heapUsed covers it; both samples are taken after forced full GCs (see findGc), so the
  // bound can be tight: 10 % of the baseline plus 8 MiB for the events published meanwhile (the node's
  // replay cache and the client's dedup cache keep them). Without gc the bound is looser (24 MiB).
  // Half-open handshakes, leaked sockets or sessions show up here or in noFuzzConnectionsLeft.
  await noFuzzConnectionsLeft(1);
  expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  const after = await settledHeapBytes(gc);
  const slackBytes = (gc ? 8 : 24) * 1024 * 1024;
  const info = { gc: gc !== undefined, baselineMiB: +(baseline / 2 ** 20).toFixed(1), afterMiB: +(after / 2 ** 20).toFixed(1), fuzzMs, ...report, violations: report.violations.length };
  expect({ ...info, withinBudget: after <= baseline * 1.1 + slackBytes }).toEqual({ ...info, withinBudget: true });
  if (process.env.HOSTILE_VERBOSE) console.log(JSON.stringify(info));
  // A guard against a hang, not a speed bar: the work is bounded by the frame budget, and took 42–68 s on
  // the 2-core CI machine next to the other jest worker, 111 s on one shared with other engineers' suites
  // (load average 9): CPU time scales it, so the guard leaves room for a machine twice as busy.
}, 300_000);
