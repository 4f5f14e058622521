import { orgOfRoom } from '@roomwire/shared';
import type { EpochRecord, PartitionState, RedisStreamLog } from './redis-stream-log';
import type { RedisHandle } from './redis-client';
import { decodeEntry, type EncodedFrame } from './stream-entry';

/** What a reader tells its node. Each call is made before the reader reads on. */
export interface ReaderListener {
  /**
   * A durable frame of the partition, in offset order. `coalesce` is true when the read that returned
   * it holds other frames for the same org (so some socket gets several frames of this read: worth
   * coalescing its writes into one).
   */
  frame(offset: string, frame: EncodedFrame, coalesce: boolean): void;
  /** A read returned `count` entries (frames and heartbeats), all handed over. */
  read(count: number): void;
  /**
   * The partition's epoch changed under the reader: the stream was lost or moved backwards. What the
   * node's sockets were owed may be gone: they must resync. Reading goes on from `record.start`.
   */
  epochChanged(previous: string, record: EpochRecord, why: PartitionState['status']): void;
  /** Entries were trimmed before the reader got to them (it lagged behind the stream's cap): resync. */
  fellBehind(): void;
  /** A read failed (logged; the reader retries and checks the stream before it reads on). */
  failed(err: Error): void;
}

/** Options of {@link PartitionReader}. */
export interface PartitionReaderOptions {
  /** Longest a blocking read waits, in ms (also how long stopping may take). */
  blockMs: number;
  /** Most entries one read returns. */
  readCount: number;
  /** An idle partition gets a heartbeat entry from this node this often, in ms. */
  heartbeatIntervalMs: number;
  /** How often the reader checks that the stream has not moved backwards, in ms. */
  checkIntervalMs: number;
  /** Written into heartbeats. */
  nodeId: string;
  /**
   * Longest wait for a reply, in ms, past a read's `blockMs` (and for a check). A read that gets none is
   * taken as failed: its connection is given up and replaced (see `reconnect`), and the stream is
   * checked before reading on. @default 5000
   */
  replyTimeoutMs?: number;
  /**
   * Opens a new connection for the reader, in place of one that gave no reply in time. Without it the
   * reader keeps its connection (and waits for its reply again after the check).
   */
  reconnect?: () => Promise<RedisHandle>;
}

/**
 * Whether two frames of one read are for the same org. A connection belongs to one org, so frames of
 * different orgs never reach the same socket: coalescing their writes (corking every socket until the
 * read is handed over) would cost without saving a system call, which is the usual case in spread
 * traffic (many orgs, a few events each).
 */
export function sharesAnOrg(frames: readonly (EncodedFrame | 'heartbeat' | undefined)[]): boolean {
  const orgs = new Set<string>();
  for (const frame of frames) {
    if (frame === undefined || frame === 'heartbeat') continue;
    for (const room of frame.rooms) {
      // An org's own room and its service rooms reach the same sockets.
      const org = orgOfRoom(room);
      if (orgs.has(org)) return true;
      orgs.add(org);
    }
  }
  return false;
}

/** Why: a reply that never comes (a command stuck on a connection after a failover) must not stop the reader. */
class NoReplyError extends Error {}

async function withDeadline<T>(running: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoReplyError(`no reply to ${what} within ${ms} ms`)), ms);
  });
  running.catch(() => undefined);
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

type XReadReply = [string, [string, unknown[]][]][] | null;

/**
 * Reads one partition's stream for one node: a blocking XREAD loop on a connection of its own, which
 * hands every entry to the node in order. It never trusts its offset blindly: before reading on after
 * any failure, and every `checkIntervalMs`, it checks (atomically, in Redis) that the epoch is still its
 * own and the stream still holds the entry it last read. A stream that moved backwards (Redis restarted
 * onto an earlier clock, restored from an older snapshot, a replica promoted without the last writes)
 * would otherwise leave the reader waiting, silently, for entries past an offset the new stream reaches
 * only later; instead a new epoch starts and the node's sockets are told to resync.
 */
export class PartitionReader {
  readonly #log: RedisStreamLog;
  #connection: RedisHandle;
  readonly #opts: PartitionReaderOptions & { replyTimeoutMs: number };
  readonly #listener: ReaderListener;
  #epoch = '';
  #offset = '0-0';
  #running = false;
  #loop: Promise<void> | undefined;
  #checkDue = 0;
  #mustCheck = false;
  #lastEntryAt = Date.now();

  private constructor(log: RedisStreamLog, connection: RedisHandle, options: PartitionReaderOptions, listener: ReaderListener) {
    this.#log = log;
    this.#connection = connection;
    this.#opts = { replyTimeoutMs: 5000, ...options };
    this.#listener = listener;
  }

  /**
   * Starts reading at the stream's head: every entry after the returned offset reaches the listener.
   * Rejects (and holds nothing open) if Redis cannot be read.
   */
  static async start(log: RedisStreamLog, connection: RedisHandle, options: PartitionReaderOptions, listener: ReaderListener): Promise<PartitionReader> {
    const reader = new PartitionReader(log, connection, options, listener);
    const state = await log.state('', '', 'check');
    reader.#epoch = state.record.epoch;
    // An empty stream gets an entry first, so that positions handed out are real, recent offsets (a
    // position carries its age in its offset). Entries before the start are owed to no one yet.
    reader.#offset = state.head === '0-0' ? await log.heartbeat(options.nodeId) : state.head;
    reader.#checkDue = Date.now() + options.checkIntervalMs;
    reader.#running = true;
    reader.#loop = reader.#run();
    return reader;
  }

  /** The epoch the reader is in. */
  get epoch(): string {
    return this.#epoch;
  }

  /** Offset of the last entry handed to the listener (every entry up to it has been). */
  get offset(): string {
    return this.#offset;
  }

  /** Stops reading and closes the reader's connection. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#connection.close().catch(() => undefined);
    await this.#loop;
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      try {
        if (this.#mustCheck || Date.now() >= this.#checkDue) await this.#check();
        const reading = this.#connection.send<XReadReply>(this.#log.keys.stream, [
          'XREAD',
          'COUNT',
          String(this.#opts.readCount),
          'BLOCK',
          String(this.#opts.blockMs),
          'STREAMS',
          this.#log.keys.stream,
          this.#offset,
        ]);
        const reply = await withDeadline(reading, this.#opts.blockMs + this.#opts.replyTimeoutMs, 'a stream read');
        failures = 0;
        if (!this.#running) break;
        if (reply === null) await this.#idle();
        else this.#deliver(reply[0]?.[1] ?? []);
      } catch (err) {
        if (!this.#running) break;
        // The connection may have gone to a Redis that lost data since: check before reading on.
        this.#mustCheck = true;
        this.#listener.failed(err instanceof Error ? err : new Error(String(err)));
        failures += 1;
        if (err instanceof NoReplyError) await this.#replaceConnection();
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** failures, 1000)));
      }
    }
  }

  /**
   * Gives up a connection whose read got no reply (node-redis would deliver that reply, or send the read
   * again after a MOVED, whenever it comes, and queue every later read behind it) for a new one.
   */
  async #replaceConnection(): Promise<void> {
    if (this.#opts.reconnect === undefined) return;
    const stuck = this.#connection;
    try {
      const fresh = await withDeadline(this.#opts.reconnect(), this.#opts.replyTimeoutMs * 2, 'a new reader connection');
      this.#connection = fresh;
      // Closing waits for the stuck reply: not awaited, it ends when that connection does.
      void stuck.close().catch(() => undefined);
      if (!this.#running) await fresh.close().catch(() => undefined);
    } catch {
      // Redis is still away: the next failure tries again.
    }
  }

  #deliver(entries: [string, unknown[]][]): void {
    if (entries.length === 1) {
      const [id, fields] = entries[0] as [string, unknown[]];
      const decoded = decodeEntry(fields);
      if (decoded !== undefined && decoded !== 'heartbeat') this.#listener.frame(id, decoded, false);
      this.#offset = id;
    } else {
      const decoded = entries.map(([, fields]) => decodeEntry(fields));
      const coalesce = sharesAnOrg(decoded);
      for (let i = 0; i < entries.length; i++) {
        const frame = decoded[i];
        const id = (entries[i] as [string, unknown[]])[0];
        if (frame !== undefined && frame !== 'heartbeat') this.#listener.frame(id, frame, coalesce);
        this.#offset = id;
      }
    }
    this.#lastEntryAt = Date.now();
    this.#listener.read(entries.length);
  }

  /** A quiet partition still moves forward: readers' offsets (and so clients' positions) stay recent. */
  async #idle(): Promise<void> {
    if (Date.now() - this.#lastEntryAt < this.#opts.heartbeatIntervalMs) return;
    this.#lastEntryAt = Date.now();
    await this.#log.heartbeat(this.#opts.nodeId);
  }

  async #check(): Promise<void> {
    const state = await withDeadline(this.#log.state(this.#epoch, this.#offset, 'advance'), this.#opts.replyTimeoutMs, 'a stream check');
    this.#mustCheck = false;
    this.#checkDue = Date.now() + this.#opts.checkIntervalMs;
    switch (state.status) {
      case 'ok':
        return;
      case 'trimmed':
        // Everything up to the head is covered by the resync; reading from there lets a lagging node catch up.
        this.#offset = state.head;
        this.#listener.fellBehind();
        return;
      default: {
        const previous = this.#epoch;
        this.#epoch = state.record.epoch;
        this.#offset = state.record.start;
        this.#listener.epochChanged(previous, state.record, state.status);
      }
    }
  }
}
