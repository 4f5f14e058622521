import type { SystemName } from '../systems/system-names';
import type { Schedule } from './schedule';

/** What one run of a schedule did. */
export interface PublishRun {
  phase: number;
  /** Wall-clock ms of the first scheduled tick and of the last emit. */
  startedAt: number;
  endedAt: number;
  published: number;
  /** Emits that failed (Roomwire's publisher rejects; the baseline's emit cannot report failures). */
  failed: number;
  /** Why the first failed emit failed (null when none did, or when some were only still in flight at the end). */
  firstFailure: string | null;
  /** Events published to each room, i.e. its sequence numbers 0..n-1. */
  perRoom: number[];
  /** Worst delay of a tick behind its scheduled time, in ms: the publisher's own backlog. */
  maxLagMs: number;
  /** p99 and max event-loop delay of the publisher process during the run, in ms. */
  eventLoopDelay: { p99Ms: number; maxMs: number };
}

/** Progress notice of the publisher (kind `published`), about every 250 ms. */
export interface PublishProgress {
  phase: number;
  published: number;
  lagMs: number;
}

/** The API the publisher process serves to the orchestrator. */
export interface PublisherApi {
  init(arg: { system: SystemName; redisUrl: string }): Promise<void>;
  /**
   * Publishes `schedule` from wall-clock `startAt`; resolves once every emit has settled. `maxInFlight`
   * (default 50 000) is how many emits may await the system's answer before the schedule pauses.
   */
  run(arg: { phase: number; schedule: Schedule; startAt: number; maxInFlight?: number }): Promise<PublishRun>;
  close(arg: Record<string, never>): Promise<void>;
}
