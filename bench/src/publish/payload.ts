import { serviceRoom } from '@roomwire/shared';

/**
 * The benchmark's events, identical for every system: `billing/invoice.paid` of the example catalog,
 * one org per room. The catalog's schema keeps only `invoiceId` and `amountCents`, so the phase and the
 * per-room sequence number ride in `amountCents` (phase × PHASE_STRIDE + seq), which lets the load
 * generator count missed, duplicated and out-of-order events per client, and ignore stragglers of an
 * earlier phase.
 */
export const SERVICE = 'billing';
export const EVENT_TYPE = 'invoice.paid';
/** Largest sequence number of one room in one phase, plus one. */
export const PHASE_STRIDE = 10_000_000;

/** The org of room `room` (0-based). */
export function orgOf(room: number): string {
  return `bench-${String(room).padStart(4, '0')}`;
}

/** The Socket.IO room of room `room`, named as Roomwire names it: `org:{org}:svc:{service}`. */
export function roomName(room: number): string {
  return serviceRoom(orgOf(room), SERVICE);
}

/** The event payload of one published event. */
export interface BenchPayload {
  invoiceId: string;
  amountCents: number;
}

/**
 * The payload of the `seq`-th event of `room` in `phase`. With `payloadBytes`, `invoiceId` is padded so
 * that the payload's JSON is that long (spread traffic carries 200 B payloads).
 */
export function payloadOf(phase: number, room: number, seq: number, payloadBytes = 0): BenchPayload {
  const payload = { invoiceId: `in_${room}_${seq}`, amountCents: phase * PHASE_STRIDE + seq };
  if (payloadBytes > 0) {
    const pad = payloadBytes - JSON.stringify(payload).length;
    if (pad > 0) payload.invoiceId += '_'.repeat(pad);
  }
  return payload;
}

/** The phase and sequence number a received payload carries; `null` for anything else. */
export function tagOf(data: unknown): { phase: number; seq: number } | null {
  const amount = (data as { amountCents?: unknown } | null)?.amountCents;
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 0) return null;
  return { phase: Math.floor(amount / PHASE_STRIDE), seq: amount % PHASE_STRIDE };
}
