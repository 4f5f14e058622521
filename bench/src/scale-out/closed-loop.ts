/** What a closed-loop run did. */
export interface ClosedLoopRun {
  ok: number;
  failed: number;
  firstFailure: string | null;
  elapsedMs: number;
}

/**
 * Runs `concurrency` loops that each call `send(seq)` again as soon as the previous call settles, until
 * `durationMs` has passed or `maxCalls` calls were started (whichever is first): a closed-loop load whose
 * in-flight work is bounded by `concurrency`.
 */
export async function closedLoop(options: { concurrency: number; durationMs: number; maxCalls?: number; send(seq: number): Promise<unknown> }): Promise<ClosedLoopRun> {
  const startedAt = Date.now();
  const deadline = startedAt + options.durationMs;
  const maxCalls = options.maxCalls ?? Number.POSITIVE_INFINITY;
  let started = 0;
  let ok = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  const loop = async (): Promise<void> => {
    while (Date.now() < deadline && started < maxCalls) {
      const seq = started++;
      try {
        await options.send(seq);
        ok += 1;
      } catch (err) {
        failed += 1;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  return { ok, failed, firstFailure, elapsedMs: Date.now() - startedAt };
}
