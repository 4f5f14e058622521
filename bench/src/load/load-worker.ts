/**
 * A load worker process: owns a share of the benchmark's clients, accounts for what they receive
 * phase by phase, and answers the orchestrator over IPC (see {@link LoadWorkerApi}).
 */
import '../measure/cpu-profile';
import { SignJWT } from 'jose';
import { PROTOCOL_VERSION } from '@roomwire/shared';
import { startTcpProxy, type TcpProxy } from '../../../test/harness';
import { openBaselineClient } from '../baseline/client';
import { serve } from '../ipc/rpc';
import { EventLoopDelayMonitor } from '../measure/event-loop-delay';
import { orgOf, roomName, SERVICE } from '../publish/payload';
import { isPlainSocketIo } from '../systems/system-names';
import type { BenchClient, ClientHooks, ClientTarget } from './bench-client';
import type { LoadWorkerApi, LoadWorkerInit, WireCounters } from './load-api';
import { freshSlotState, PhaseTracker, type ClientSlot } from './phase-tracker';
import { openRoomwireClient } from './roomwire-client';
import { openLeanClient } from './lean-client';
import { installWireMeter } from './wire-meter';

const readWire = installWireMeter();
const phaseDelay = new EventLoopDelayMonitor();
const windowDelay = new EventLoopDelayMonitor();

let slots: ClientSlot[] = [];
let clients: BenchClient[] = [];
/** One cuttable proxy per node, in front of the cut clients only. */
let proxies: TcpProxy[] = [];
let tracker: PhaseTracker | null = null;
/** When `hold` cut the cut clients (until `restore`). */
let heldAt: number | null = null;
let phaseCpu = process.cpuUsage();
let phaseWire: WireCounters = readWire();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function signToken(secret: string, org: string): Promise<string> {
  return new SignJWT({ org, services: [SERVICE] })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('6h')
    .sign(new TextEncoder().encode(secret));
}

function hooksFor(slot: ClientSlot): ClientHooks {
  return {
    onEvent: (ts, data) => tracker?.onEvent(slot, ts, data),
    onUp: (recovered) => {
      slot.up = true;
      slot.everUp = true;
      tracker?.onUp(slot, recovered);
    },
    onDown: () => {
      slot.up = false;
      tracker?.onDown(slot);
    },
    onResync: () => tracker?.onResync(slot),
  };
}

function openClient(arg: LoadWorkerInit, target: ClientTarget, token: string | undefined, hooks: ClientHooks): BenchClient {
  const plain = isPlainSocketIo(arg.system);
  if (arg.clientKind === 'lean') {
    return openLeanClient(
      target,
      plain ? { kind: 'baseline', room: roomName(target.room) } : { kind: 'roomwire', token: token as string, services: [SERVICE], protocolVersion: PROTOCOL_VERSION },
      hooks,
    );
  }
  return plain ? openBaselineClient(target, hooks) : openRoomwireClient(target, token as string, hooks);
}

async function init(arg: LoadWorkerInit): Promise<{ connectMs: number }> {
  const started = Date.now();
  if (arg.clients.some((c) => c.cut)) {
    proxies = await Promise.all(arg.nodeUrls.map((url) => startTcpProxy(Number(new URL(url).port))));
  }
  const tokens = new Map<number, string>();
  if (!isPlainSocketIo(arg.system)) {
    for (const room of new Set(arg.clients.map((c) => c.room))) tokens.set(room, await signToken(arg.jwtSecret, orgOf(room)));
  }
  slots = arg.clients.map((spec) => ({ spec, up: false, everUp: false, phase: freshSlotState() }));

  // Open clients at a bounded pace, so the handshakes do not stampede the nodes.
  const perTick = Math.max(1, Math.round(arg.connectPerSecond / 20));
  for (let i = 0; i < slots.length; i += perTick) {
    for (const slot of slots.slice(i, i + perTick)) {
      const url = slot.spec.cut ? (proxies[slot.spec.node] as TcpProxy).url : (arg.nodeUrls[slot.spec.node] as string);
      const target: ClientTarget = { url, room: slot.spec.room, reconnect: arg.reconnect };
      clients.push(openClient(arg, target, tokens.get(slot.spec.room), hooksFor(slot)));
    }
    await sleep(50);
  }
  const deadline = started + arg.connectTimeoutMs;
  while (slots.some((s) => !s.everUp)) {
    if (Date.now() > deadline) {
      throw new Error(`only ${slots.filter((s) => s.everUp).length} of ${slots.length} clients connected within ${arg.connectTimeoutMs} ms`);
    }
    await sleep(50);
  }
  return { connectMs: Date.now() - started };
}

const api: LoadWorkerApi = {
  init,
  begin(arg) {
    tracker = new PhaseTracker(arg, slots);
    phaseDelay.reset();
    windowDelay.reset();
    phaseCpu = process.cpuUsage();
    phaseWire = readWire();
  },
  progress() {
    const windowP99Ms = tracker?.window.percentileMs(99) ?? null;
    tracker?.window.reset();
    const eldP99Ms = windowDelay.percentileMs(99);
    windowDelay.reset();
    return {
      deliveries: tracker?.deliveries ?? 0,
      stale: tracker?.stale ?? 0,
      windowP99Ms,
      eldP99Ms,
      down: slots.filter((s) => !s.up).length,
      cutUp: slots.filter((s) => s.spec.cut && s.up).length,
    };
  },
  async cut({ durationMs }) {
    for (const proxy of proxies) proxy.cut();
    const cutAt = Date.now();
    await sleep(durationMs);
    for (const proxy of proxies) proxy.restore();
    const restoredAt = Date.now();
    if (tracker) tracker.cut = { cutAt, restoredAt };
    return { cutAt, restoredAt };
  },
  hold() {
    for (const proxy of proxies) proxy.cut();
    heldAt = Date.now();
    return { cutAt: heldAt };
  },
  restore() {
    for (const proxy of proxies) proxy.restore();
    const cut = { cutAt: heldAt ?? Date.now(), restoredAt: Date.now() };
    heldAt = null;
    if (tracker) tracker.cut = cut;
    return cut;
  },
  end({ phase, expectedPerRoom }) {
    if (!tracker || tracker.phase !== phase) throw new Error(`phase ${phase} is not the current phase`);
    const wireNow = readWire();
    const cpu = process.cpuUsage(phaseCpu);
    const report = tracker.report(expectedPerRoom, {
      wire: {
        bytes: wireNow.bytes - phaseWire.bytes,
        messages: wireNow.messages - phaseWire.messages,
        eventPackets: wireNow.eventPackets - phaseWire.eventPackets,
      },
      eventLoopDelay: {
        p50Ms: phaseDelay.percentileMs(50),
        p99Ms: phaseDelay.percentileMs(99),
        maxMs: phaseDelay.maxMs,
      },
      cpuS: (cpu.user + cpu.system) / 1e6,
    });
    tracker = null;
    return report;
  },
  async close() {
    for (const client of clients) client.close();
    clients = [];
    await Promise.all(proxies.map((p) => p.close()));
    proxies = [];
  },
};

serve(api);
