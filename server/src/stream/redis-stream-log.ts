import { randomUUID } from 'node:crypto';
import { RoomwireError, parseServiceRoom, type PlainFrame, type StreamPosition } from '@roomwire/shared';
import { historyPage, HISTORY_SCAN_SLACK, plainFrameOf, type HistoryQuery, type HistoryResult } from './history-page';
import type { AppendOptions, AppendResult, EventLog, LogEntry, LogPage, Recoverability } from './event-log';
import type { PartitionKeys } from './partitions';
import type { RedisHandle } from './redis-client';
import { retentionMs } from './retention';
import { APPEND_SCRIPT, HISTORY_SCRIPT, STATE_SCRIPT } from './stream-scripts';
import { decodeEntry, FIELD, frameFields } from './stream-entry';
import { DeadlineSlots } from './deadline-slots';

/** Commands whose deadlines fall within this many ms share one timer (a deadline is up to this much late). */
const DEADLINE_GRANULARITY_MS = 50;

/** Options of {@link RedisStreamLog}. */
export interface RedisStreamLogOptions {
  replayWindowMs: number;
  maxStreamLength: number;
  /** Per-command timeout of appends, in ms. */
  commandTimeoutMs?: number;
  /** Frames at least this large (JSON bytes) are stored compressed; 0 = never. */
  compressFramesMinBytes: number;
  /** Most entries the history index of one service room keeps (it is trimmed by the window too). @default 1000 */
  historyMaxEntries?: number;
}

/** A partition's epoch record: the epoch, and the offset after which its entries begin. */
export interface EpochRecord {
  epoch: string;
  /** Entries of this epoch have offsets greater than this. */
  start: string;
}

/** What {@link RedisStreamLog.state} found. */
export interface PartitionState {
  record: EpochRecord;
  status: 'created' | 'changed' | 'ok' | 'trimmed' | 'moved-back' | 'ahead' | 'missing';
  /** The stream's last generated id (`0-0` for none). */
  head: string;
  /** The oldest entry's id, `null` when the stream holds none. */
  first: string | null;
}

/** Most appends, and most bytes of entry fields, sent in one call (a larger group starts another). */
const MAX_GROUP_APPENDS = 100;
const MAX_GROUP_BYTES = 1_048_576;

/** An append waiting for its group to be sent. */
interface PendingAppend {
  /** Its place in this writer's issue order (the fence). */
  seq: number;
  /** The event id an idempotency record keeps ('' without one). */
  eventId: string;
  historyKey: string | undefined;
  idempotencyKey: string | undefined;
  fields: string[];
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

function frameBytes(fields: readonly string[]): number {
  let bytes = 0;
  for (const field of fields) bytes += field.length;
  return bytes;
}

function parseRecord(record: string): EpochRecord {
  const space = record.indexOf(' ');
  return space < 0 ? { epoch: record, start: '0-0' } : { epoch: record.slice(0, space), start: record.slice(space + 1) };
}

/**
 * One partition's event log on its Redis stream. Besides appending and reading, it keeps the promise
 * that the stream never moves backwards silently: a writer whose own latest entry is gone (Redis
 * restarted onto an earlier clock, restored from an older snapshot, or a replica promoted without the
 * last writes) opens a new epoch within its next append (see {@link APPEND_SCRIPT}), so every client of
 * the partition is told to resync.
 */
export class RedisStreamLog implements EventLog {
  readonly #redis: RedisHandle;
  readonly #keys: PartitionKeys;
  readonly #opts: Required<RedisStreamLogOptions>;
  /** Appends issued so far (each append's place in issue order). */
  #issued = 0;
  /** The latest append (in issue order) that completed: its place, epoch and offset. */
  #latest: { seq: number; epoch: string; offset: string } | undefined;
  /** Set after a failed append: the next one also checks that the stream still has the latest entry. */
  #verify = false;
  /** This writer's fence key: the number of its last stored append (see {@link APPEND_SCRIPT}). */
  readonly #fenceKey: string;
  /** Appends issued in the current synchronous run, sent together when it ends. */
  #group: { appends: PendingAppend[]; bytes: number } | undefined;
  readonly #deadlines: DeadlineSlots;

  constructor(redis: RedisHandle, keys: PartitionKeys, options: RedisStreamLogOptions) {
    this.#redis = redis;
    this.#keys = keys;
    this.#opts = { commandTimeoutMs: 5000, historyMaxEntries: 1000, ...options };
    this.#fenceKey = keys.writerPrefix + randomUUID();
    this.#deadlines = new DeadlineSlots(this.#opts.commandTimeoutMs, Math.min(DEADLINE_GRANULARITY_MS, this.#opts.commandTimeoutMs));
  }

  /** The partition's keys. */
  get keys(): PartitionKeys {
    return this.#keys;
  }

  async append(room: string, frame: PlainFrame, options: AppendOptions): Promise<AppendResult> {
    if (options.volatile) {
      // Volatile frames are never replayed, so they skip the stream (and its memory for the whole
      // window) and go over pub/sub to the nodes that read the partition now.
      await this.#withUnavailable(() => this.#redis.publish(this.#keys.volatileChannel, JSON.stringify({ room, frame })));
      return { offset: null };
    }
    const fields = frameFields(room, frame, { minBytes: this.#opts.compressFramesMinBytes });
    const bytes = frameBytes(fields);
    return new Promise<AppendResult>((resolve, reject) => {
      const pending: PendingAppend = {
        seq: ++this.#issued,
        eventId: options.idempotency?.eventId ?? '',
        // Only service rooms have a history (org-wide notices are not a service's events).
        historyKey: parseServiceRoom(room) !== undefined ? this.#keys.historyPrefix + room : undefined,
        idempotencyKey: options.idempotency ? this.#keys.idempotencyPrefix + options.idempotency.key : undefined,
        fields,
        resolve,
        reject,
      };
      let group = this.#group;
      if (group !== undefined && (group.appends.length >= MAX_GROUP_APPENDS || group.bytes + bytes > MAX_GROUP_BYTES)) {
        this.#group = undefined;
        void this.#send(group.appends);
        group = undefined;
      }
      if (group === undefined) {
        group = { appends: [], bytes: 0 };
        this.#group = group;
        queueMicrotask(() => {
          if (this.#group !== group || group === undefined) return;
          this.#group = undefined;
          void this.#send(group.appends);
        });
      }
      group.appends.push(pending);
      group.bytes += bytes;
    });
  }

  /**
   * Sends a group of appends in one call (see {@link APPEND_SCRIPT}) and settles each. Groups are sent in
   * issue order on one connection; the fence keeps their entries in that order after a failover.
   */
  async #send(appends: PendingAppend[]): Promise<void> {
    const latest = this.#latest;
    const verify = this.#verify;
    const keys = [this.#keys.stream, this.#keys.epoch, this.#fenceKey];
    const args = [
      String(retentionMs(this.#opts.replayWindowMs)),
      String(this.#opts.maxStreamLength),
      randomUUID(),
      String(this.#opts.replayWindowMs),
      latest?.epoch ?? '',
      latest?.offset ?? '',
      verify ? '1' : '',
      String(this.#opts.historyMaxEntries),
      String(appends.length),
    ];
    for (const append of appends) {
      // Any key of the partition's slot stands in for a key an append does not have.
      keys.push(append.historyKey ?? this.#keys.historyPrefix, append.idempotencyKey ?? this.#keys.idempotencyPrefix);
      args.push(append.eventId, append.historyKey === undefined ? '' : '1', String(append.seq), append.idempotencyKey === undefined ? '' : '1', String(append.fields.length));
      for (const field of append.fields) args.push(field);
    }
    let reply: (string | number)[];
    try {
      reply = await this.#withUnavailable((signal) => this.#redis.run<(string | number)[]>(APPEND_SCRIPT, keys, args, { abortSignal: signal }));
    } catch (err) {
      for (const append of appends) append.reject(err);
      return;
    }
    if (verify) this.#verify = false;
    const epoch = parseRecord(String(reply[0])).epoch;
    appends.forEach((append, i) => {
      const status = Number(reply[1 + 2 * i]);
      const value = String(reply[2 + 2 * i]);
      if (status === 2) {
        // A later append of this writer was stored first (this one was sent again after a failover).
        this.#verify = true;
        append.reject(
          new RoomwireError('RW_ERR_UNAVAILABLE', `the event stream is unavailable: the append reached Redis after a later one (append ${append.seq}, stored up to ${value}); not stored, retry`),
        );
      } else if (status !== 1) {
        const [id = '', offset = ''] = value.split(' ');
        append.resolve({ offset, duplicateOf: { id, offset } });
      } else {
        // Replies can complete out of issue order (a call sent again after NOSCRIPT): keep the latest issued.
        if (append.seq > (this.#latest?.seq ?? 0)) this.#latest = { seq: append.seq, epoch, offset: value };
        append.resolve({ offset: value });
      }
    });
  }

  /** Writes a heartbeat entry (moves idle readers forward); resolves with its offset. */
  async heartbeat(nodeId: string): Promise<string> {
    const args = [String(retentionMs(this.#opts.replayWindowMs)), String(this.#opts.maxStreamLength), randomUUID(), '0', '', '', '', '0', '1', '', '', '', '', '2', FIELD.heartbeat, nodeId];
    const keys = [this.#keys.stream, this.#keys.epoch, this.#keys.historyPrefix, this.#keys.historyPrefix, this.#keys.historyPrefix];
    const reply = await this.#withUnavailable((signal) => this.#redis.run<(string | number)[]>(APPEND_SCRIPT, keys, args, { abortSignal: signal }));
    return String(reply[2]);
  }

  /**
   * The partition's epoch and head, and how `offset` (held in `knownEpoch`) stands against them; in
   * `advance` mode a stream found behind the offset gets a new epoch (see {@link STATE_SCRIPT}).
   */
  async state(knownEpoch: string, offset: string, mode: 'advance' | 'check'): Promise<PartitionState> {
    const [record, status, head, first] = await this.#redis.run<[string, PartitionState['status'], string, string]>(STATE_SCRIPT, [this.#keys.stream, this.#keys.epoch], [
      knownEpoch,
      offset,
      randomUUID(),
      mode,
    ]);
    return { record: parseRecord(record), status, head, first: first === '' ? null : first };
  }

  async epoch(): Promise<string> {
    return (await this.state('', '', 'check')).record.epoch;
  }

  async head(): Promise<StreamPosition> {
    const { record, head } = await this.state('', '', 'check');
    return { epoch: record.epoch, offset: head };
  }

  async canRecoverFrom(position: StreamPosition): Promise<Recoverability> {
    const { status } = await this.state(position.epoch, position.offset, 'check');
    switch (status) {
      case 'ok':
        return { ok: true };
      case 'trimmed':
        return { ok: false, reason: 'trimmed' };
      case 'ahead':
      case 'missing':
        return { ok: false, reason: 'unknown-position' };
      default:
        return { ok: false, reason: 'stream-reset' };
    }
  }

  async readAfter(offset: string, count: number): Promise<LogPage> {
    const reply = await this.#redis.send<[string, unknown[]][]>(this.#keys.stream, ['XRANGE', this.#keys.stream, `(${offset}`, '+', 'COUNT', String(count)]);
    const entries: LogEntry[] = [];
    let cursor: string | null = null;
    for (const [id, fields] of reply) {
      cursor = id;
      const decoded = decodeEntry(fields);
      if (decoded !== undefined && decoded !== 'heartbeat') entries.push({ offset: id, rooms: decoded.rooms, frame: decoded.frame() });
    }
    return { entries, cursor };
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryResult> {
    const before = query.before;
    const args = [before?.offset ?? '', before !== undefined && before.index > 0 ? '1' : '', String(query.limit), String(query.windowMs), String(query.limit + HISTORY_SCAN_SLACK), String(before?.index ?? 0)];
    const [raw, more, last] = await this.#withUnavailable(() =>
      this.#redis.run<[[string, unknown[]][], string, string]>(HISTORY_SCRIPT, [this.#keys.historyPrefix + room, this.#keys.stream], args),
    );
    const entries = [];
    for (const [offset, fields] of raw) {
      const decoded = decodeEntry(fields);
      if (decoded !== undefined && decoded !== 'heartbeat' && decoded.rooms[0] === room) entries.push({ offset, frame: plainFrameOf(decoded.frame()) });
    }
    return historyPage(entries, query, more === '1' ? { lastScanned: last } : false);
  }

  /**
   * Runs `fn` within the command timeout and turns any failure into `RW_ERR_UNAVAILABLE`. Why a deadline
   * of our own: node-redis's abort signal and command timeout only apply while a command waits to be
   * written; one already written waits for its reply as long as the connection lives, which is for
   * ever when packets are dropped (a partition, a dead host). The command may still run later: the
   * caller gets a retryable error and retries with its idempotency key. The same deadline aborts the
   * command, so one not yet written is dropped from node-redis's queue. Deadlines are shared by the
   * commands that expire within the same {@link DEADLINE_GRANULARITY_MS} (see {@link DeadlineSlots}).
   * A failure also means the next append first checks that the stream still has what this writer wrote.
   */
  async #withUnavailable<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.#deadlines.run(fn);
    } catch (err) {
      this.#verify = true;
      if (err instanceof RoomwireError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new RoomwireError('RW_ERR_UNAVAILABLE', `the event stream is unavailable: ${reason}`);
    }
  }
}
