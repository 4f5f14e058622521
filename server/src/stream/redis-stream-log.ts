import { randomUUID } from 'node:crypto';
import { compareOffsets, RoomwireError, type PlainFrame, type StreamPosition } from '@roomwire/shared';
import { decodeDurableFrame, encodeBroadcast, fieldsFromReply } from './adapter-message';
import type { AppendOptions, AppendResult, EventLog, LogEntry, LogPage, Recoverability } from './event-log';
import type { RedisClient } from './redis-client';
import { retentionMs } from './retention';

/**
 * Appends one entry, atomically with its idempotency record, and trims the stream by time (MINID,
 * from Redis's own clock) and by a hard length cap. Trimming is approximate (`~`), so the stream
 * keeps at least the window. KEYS: stream[, idempotency key].
 * ARGV: retentionMs, maxLen, uid, nsp, type, data, eventId, idempotencyTtlMs.
 */
const APPEND_SCRIPT = `
if #KEYS > 1 then
  local prior = redis.call('GET', KEYS[2])
  if prior then return {0, prior} end
end
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minId = tostring(math.max(0, nowMs - tonumber(ARGV[1]))) .. '-0'
local offset = redis.call('XADD', KEYS[1], 'MINID', '~', minId, '*', 'uid', ARGV[3], 'nsp', ARGV[4], 'type', ARGV[5], 'data', ARGV[6])
redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[2])
if #KEYS > 1 then
  redis.call('SET', KEYS[2], ARGV[7] .. ' ' .. offset, 'PX', ARGV[8])
end
return {1, offset}
`;

/** The pub/sub channel of volatile frames of a stream. */
export function volatileChannel(streamName: string): string {
  return `${streamName}:volatile`;
}

/** Options of {@link RedisStreamLog}. */
export interface RedisStreamLogOptions {
  streamName: string;
  replayWindowMs: number;
  maxStreamLength: number;
  /** Per-command timeout of appends, in ms. */
  commandTimeoutMs?: number;
  /** Frames at least this large (JSON bytes) are stored compressed; 0 = never. */
  compressFramesMinBytes: number;
}

interface StreamInfo {
  length: number;
  lastGeneratedId: string;
  firstEntryId: string | null;
  maxDeletedEntryId: string;
}

/** The event log on the Redis stream that `@socket.io/redis-streams-adapter` reads. */
export class RedisStreamLog implements EventLog {
  readonly #client: RedisClient;
  readonly #opts: Required<RedisStreamLogOptions>;
  readonly #epochKey: string;
  readonly #idempotencyPrefix: string;
  #scriptSha: string | undefined;
  /** EVALSHA appends sent and not yet answered. */
  #outstanding = 0;
  /** Woken when no EVALSHA is in flight any more. */
  #drained: (() => void)[] = [];
  /** Appends refused with NOSCRIPT, to send again in the order they were first sent. */
  #retries: (() => void)[] = [];
  /** Set while the script is loaded again after Redis lost it; new appends wait for it. */
  #reloading: Promise<void> | undefined;

  constructor(client: RedisClient, options: RedisStreamLogOptions) {
    this.#client = client;
    this.#opts = { commandTimeoutMs: 5000, ...options };
    // Keys share the stream's hash tag (if any) so the append script stays on one Redis Cluster slot.
    this.#epochKey = `${options.streamName}:epoch`;
    this.#idempotencyPrefix = `${options.streamName}:idem:`;
  }

  async append(room: string, frame: PlainFrame, options: AppendOptions): Promise<AppendResult> {
    if (options.volatile) {
      // Volatile frames are never replayed, so they skip the stream (and its memory for the whole
      // window) and go over pub/sub to the nodes that are up now.
      await this.#withUnavailable(() => this.#client.publish(volatileChannel(this.#opts.streamName), JSON.stringify({ room, frame })));
      return { offset: null };
    }
    const fields = encodeBroadcast(room, frame, { minBytes: this.#opts.compressFramesMinBytes });
    const keys = [this.#opts.streamName];
    if (options.idempotency) keys.push(this.#idempotencyPrefix + options.idempotency.key);
    const args = [
      String(retentionMs(this.#opts.replayWindowMs)),
      String(this.#opts.maxStreamLength),
      fields.uid as string,
      fields.nsp as string,
      fields.type as string,
      fields.data as string,
      options.idempotency?.eventId ?? '',
      String(this.#opts.replayWindowMs),
    ];
    const reply = await this.#withUnavailable((signal) => this.#evalAppend(keys, args, signal));
    const [fresh, value] = reply as [number, string];
    if (fresh === 1) return { offset: options.volatile ? null : value };
    const [id = '', offset = ''] = value.split(' ');
    return { offset: options.volatile ? null : offset, duplicateOf: { id, offset: options.volatile ? null : offset } };
  }

  async epoch(): Promise<string> {
    const current = await this.#client.get(this.#epochKey);
    if (current !== null) return current;
    // A missing epoch means a new or lost stream (Redis restarted without persistence): name a new
    // lifetime; every position from the old one now fails to recover and its client resyncs.
    await this.#client.set(this.#epochKey, randomUUID(), { condition: 'NX' });
    const created = await this.#client.get(this.#epochKey);
    if (created === null) throw new RoomwireError('RW_ERR_UNAVAILABLE', 'could not establish the stream epoch');
    return created;
  }

  async head(): Promise<StreamPosition> {
    const [epoch, info] = await Promise.all([this.epoch(), this.#info()]);
    return { epoch, offset: info.lastGeneratedId };
  }

  async canRecoverFrom(position: StreamPosition): Promise<Recoverability> {
    const [epoch, info] = await Promise.all([this.epoch(), this.#info()]);
    if (epoch !== position.epoch) return { ok: false, reason: 'stream-reset' };
    // Trimming removes the oldest entries and (unlike XDEL) leaves max-deleted-entry-id alone, so an
    // offset is safe when nothing newer was deleted and it is not older than the first kept entry
    // (or the stream holds nothing newer at all).
    if (compareOffsets(info.maxDeletedEntryId, position.offset) > 0) return { ok: false, reason: 'trimmed' };
    if (compareOffsets(position.offset, info.lastGeneratedId) >= 0) return { ok: true };
    if (info.firstEntryId !== null && compareOffsets(position.offset, info.firstEntryId) >= 0) return { ok: true };
    return { ok: false, reason: 'trimmed' };
  }

  async readAfter(offset: string, count: number): Promise<LogPage> {
    const reply = (await this.#client.sendCommand(['XRANGE', this.#opts.streamName, `(${offset}`, '+', 'COUNT', String(count)])) as unknown[];
    const entries: LogEntry[] = [];
    let cursor: string | null = null;
    for (const raw of reply) {
      const [id, flat] = raw as [string, unknown];
      cursor = id;
      const decoded = decodeDurableFrame(fieldsFromReply(flat));
      if (decoded) entries.push({ offset: id, ...decoded });
    }
    return { entries, cursor };
  }

  async #info(): Promise<StreamInfo> {
    let reply: unknown;
    try {
      reply = await this.#client.sendCommand(['XINFO', 'STREAM', this.#opts.streamName]);
    } catch (err) {
      if (err instanceof Error && /no such key/i.test(err.message)) {
        return { length: 0, lastGeneratedId: '0-0', firstEntryId: null, maxDeletedEntryId: '0-0' };
      }
      throw err;
    }
    const flat = reply as unknown[];
    const map = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) map.set(String(flat[i]), flat[i + 1]);
    const first = map.get('first-entry');
    return {
      length: Number(map.get('length') ?? 0),
      lastGeneratedId: String(map.get('last-generated-id') ?? '0-0'),
      firstEntryId: Array.isArray(first) && typeof first[0] === 'string' ? first[0] : null,
      // Redis < 7 has no max-deleted-entry-id; Roomwire never XDELs, so 0-0 is then exact.
      maxDeletedEntryId: String(map.get('max-deleted-entry-id') ?? '0-0'),
    };
  }

  async #evalAppend(keys: string[], args: string[], signal: AbortSignal): Promise<unknown> {
    while (this.#reloading) await this.#reloading;
    // The caller gave up meanwhile (its deadline passed): it was told the append failed, so it is not made.
    if (signal.aborted) throw signal.reason;
    if (this.#scriptSha === undefined) {
      this.#scriptSha = (await this.#client.sendCommand(['SCRIPT', 'LOAD', APPEND_SCRIPT], { abortSignal: signal })) as string;
    }
    const sha = this.#scriptSha;
    const send = (): Promise<unknown> => this.#counted(this.#client.sendCommand(['EVALSHA', sha, String(keys.length), ...keys, ...args], { abortSignal: signal }));
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
      // Redis restarted and lost its script cache. Falling back to EVAL at once would reorder the
      // stream: EVAL caches the script, so a later append's EVALSHA could run before the EVAL of an
      // earlier one refused alike (the chaos redis-restart scenario saw it). Instead, every append
      // is sent again, in the order of the first sends, once the script is loaded again.
      return new Promise((resolve, reject) => {
        this.#retries.push(() => {
          if (signal.aborted) reject(signal.reason);
          else send().then(resolve, reject);
        });
        this.#reloading ??= this.#reload();
      });
    }
  }

  #counted(sending: Promise<unknown>): Promise<unknown> {
    this.#outstanding += 1;
    const settle = (): void => {
      this.#outstanding -= 1;
      if (this.#outstanding === 0) for (const wake of this.#drained.splice(0)) wake();
    };
    sending.then(settle, settle);
    return sending;
  }

  /**
   * Loads the script again once no EVALSHA is in flight (until then each one is refused alike, in
   * order), then sends the refused appends again in their order, before any later append.
   */
  async #reload(): Promise<void> {
    try {
      while (this.#outstanding > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
      await this.#client.sendCommand(['SCRIPT', 'LOAD', APPEND_SCRIPT]);
    } catch {
      // Redis is away again: the appends sent again fail too, and their callers see RW_ERR_UNAVAILABLE.
    } finally {
      for (const retry of this.#retries.splice(0)) retry();
      this.#reloading = undefined;
    }
  }

  /**
   * Runs `fn` within the command timeout and turns any failure into `RW_ERR_UNAVAILABLE`. Why a deadline
   * of our own: node-redis's abort signal and command timeout only apply while a command waits to be
   * written; one already written waits for its reply as long as the connection lives, which is for
   * ever when packets are dropped (a partition, a dead host). The command may still run later: the
   * caller gets a retryable error and retries with its idempotency key. The same deadline aborts the
   * command, so one not yet written is dropped from node-redis's queue (one timer per append, not two).
   */
  async #withUnavailable<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no reply from Redis within ${this.#opts.commandTimeoutMs} ms`));
      }, this.#opts.commandTimeoutMs);
    });
    const running = fn(controller.signal);
    // A reply (or error) after the deadline has no one waiting for it.
    running.catch(() => undefined);
    try {
      return await Promise.race([running, deadline]);
    } catch (err) {
      if (err instanceof RoomwireError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new RoomwireError('RW_ERR_UNAVAILABLE', `the event stream is unavailable: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
