/**
 * Publishing schedules: pure data, expanded deterministically into ticks, so every system is sent
 * exactly the same events in the same order at the same offsets.
 */
export type Schedule = SteadySchedule | SpreadSchedule | BurstSchedule;

/** A steady rate spread over all rooms: every 10 ms the events due, each to the next room in turn. */
export interface SteadySchedule {
  kind: 'steady';
  eventsPerSecond: number;
  durationMs: number;
  rooms: number;
}

/**
 * "Spread" traffic: a steady rate (every 10 ms the events due), each event to a room drawn
 * at random (seeded, so every system gets the same rooms in the same order). With many rooms a room
 * rarely gets two events within a batch window, so every frame carries one event.
 */
export interface SpreadSchedule {
  kind: 'spread';
  eventsPerSecond: number;
  durationMs: number;
  rooms: number;
  /** Seed of the room sequence (any 32-bit integer). */
  seed: number;
  /** JSON bytes of each event's `data` (padded). @default 0 (unpadded) */
  payloadBytes?: number;
}

/** Every `periodMs`, `eventsPerRoom` events into each of `roomsPerBurst` rooms (the next rooms in turn). */
export interface BurstSchedule {
  kind: 'bursts';
  periodMs: number;
  eventsPerRoom: number;
  roomsPerBurst: number;
  durationMs: number;
  rooms: number;
}

/** What to publish at one instant: one event per entry of `rooms`, in this order. */
export interface Tick {
  /** Offset from the start of the schedule, in ms. */
  atMs: number;
  rooms: number[];
}

/** Tick of the steady schedule, in ms: fine enough that a steady rate looks steady to a 20 ms batcher. */
export const STEADY_TICK_MS = 10;

/** Expands a schedule into its ticks, lazily. */
export function* ticksOf(schedule: Schedule): Generator<Tick> {
  if (schedule.kind === 'steady' || schedule.kind === 'spread') {
    const count = Math.floor(schedule.durationMs / STEADY_TICK_MS);
    const perTick = (schedule.eventsPerSecond * STEADY_TICK_MS) / 1000;
    const random = schedule.kind === 'spread' ? seededRandom(schedule.seed) : null;
    let room = 0;
    for (let k = 0; k < count; k++) {
      const due = Math.floor(perTick * (k + 1)) - Math.floor(perTick * k);
      const rooms: number[] = [];
      for (let e = 0; e < due; e++) {
        if (random) {
          rooms.push(Math.floor(random() * schedule.rooms));
        } else {
          rooms.push(room);
          room = (room + 1) % schedule.rooms;
        }
      }
      if (rooms.length > 0) yield { atMs: k * STEADY_TICK_MS, rooms };
    }
    return;
  }
  const count = Math.floor(schedule.durationMs / schedule.periodMs);
  for (let k = 0; k < count; k++) {
    const first = (k * schedule.roomsPerBurst) % schedule.rooms;
    const rooms: number[] = [];
    // Interleaved, as concurrent activity in many rooms would arrive.
    for (let e = 0; e < schedule.eventsPerRoom; e++) {
      for (let j = 0; j < schedule.roomsPerBurst; j++) rooms.push((first + j) % schedule.rooms);
    }
    yield { atMs: k * schedule.periodMs, rooms };
  }
}

/** Total events of a schedule. */
export function eventsIn(schedule: Schedule): number {
  let total = 0;
  for (const tick of ticksOf(schedule)) total += tick.rooms.length;
  return total;
}

/** Nominal published events per second. */
export function nominalRate(schedule: Schedule): number {
  return schedule.kind !== 'bursts'
    ? schedule.eventsPerSecond
    : (schedule.eventsPerRoom * schedule.roomsPerBurst * 1000) / schedule.periodMs;
}

/** One line for progress and reports. */
export function describeSchedule(schedule: Schedule): string {
  const seconds = `${schedule.durationMs / 1000} s`;
  if (schedule.kind === 'spread') return `${schedule.eventsPerSecond} events/s, each to a random one of ${schedule.rooms} rooms, for ${seconds}`;
  return schedule.kind === 'steady'
    ? `${schedule.eventsPerSecond} events/s spread over ${schedule.rooms} rooms for ${seconds}`
    : `every ${schedule.periodMs} ms ${schedule.eventsPerRoom} events into each of ${schedule.roomsPerBurst} rooms (${nominalRate(schedule)} events/s) for ${seconds}`;
}

/**
 * A deterministic PRNG (mulberry32) in [0, 1): the same seed gives the same rooms for every system.
 * Why not Math.random: schedules must be reproducible across systems and runs.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
