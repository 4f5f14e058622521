import { fork, type ChildProcess } from 'node:child_process';

/**
 * A child's API: methods taking one JSON argument. Results travel over the IPC channel, so they must
 * be plain JSON too.
 */
export type Api<A> = { [K in keyof A]: (arg: never) => unknown };

type Arg<F> = F extends (arg: infer P) => unknown ? P : never;
type Result<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

interface Request {
  rpc: 'call';
  id: number;
  method: string;
  arg: unknown;
}

interface Response {
  rpc: 'result';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** An unsolicited message from a child, e.g. progress. */
export interface Notice {
  rpc: 'notice';
  kind: string;
  body: unknown;
}

type Message = Request | Response | Notice;

const live = new Set<ChildProcess>();
let hooked = false;

/** Children still running are killed when the orchestrator exits, whatever the reason. */
function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** The parent's handle on a forked child that serves API `A`. */
export class RpcChild<A extends Api<A>> {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void; method: string }>();
  readonly #noticeHandlers = new Set<(notice: Notice) => void>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #stderrTail = '';

  private constructor(child: ChildProcess, readonly name: string) {
    this.#child = child;
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.#stderrTail = (this.#stderrTail + text).slice(-4000);
      process.stderr.write(text.replace(/^(?=.)/gm, `  [${name}] `));
    });
    child.on('message', (message: Message) => {
      if (message.rpc === 'result') {
        const waiting = this.#pending.get(message.id);
        if (!waiting) return;
        this.#pending.delete(message.id);
        if (message.ok) waiting.resolve(message.value);
        else waiting.reject(new Error(`${name}.${waiting.method}: ${message.error ?? 'failed'}`));
      } else if (message.rpc === 'notice') {
        for (const handler of this.#noticeHandlers) handler(message);
      }
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const [, waiting] of this.#pending) {
          waiting.reject(new Error(`${name} exited (code ${code}, signal ${signal}) during ${waiting.method}\n${this.#stderrTail}`));
        }
        this.#pending.clear();
        resolve();
      });
    });
  }

  /**
   * Forks `entry` (a TypeScript file) under tsx with the repo's source condition, the way the root
   * `bench` script runs the orchestrator; stdout is inherited, stderr is prefixed with `name`.
   */
  static fork<A extends Api<A>>(entry: string, name: string): RpcChild<A> {
    const child = fork(entry, [], {
      execArgv: ['--conditions=roomwire-source', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    killOnExit(child);
    return new RpcChild<A>(child, name);
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Calls `method` in the child and resolves with its result. */
  call<K extends keyof A & string>(method: K, arg: Arg<A[K]>): Promise<Result<A[K]>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, method });
      const request: Request = { rpc: 'call', id, method, arg };
      this.#child.send(request, (err) => {
        if (!err) return;
        this.#pending.delete(id);
        reject(new Error(`${this.name}.${method}: could not send: ${err.message}`));
      });
    });
  }

  /** Calls `handler` for every notice the child sends. */
  onNotice(handler: (notice: Notice) => void): () => void {
    this.#noticeHandlers.add(handler);
    return () => this.#noticeHandlers.delete(handler);
  }

  /** Closes the channel (the child exits on disconnect), then kills the child if it lingers. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }
}

/**
 * Serves `api` to the parent over the IPC channel. The child exits when the parent goes away, so a
 * crashed orchestrator never leaves load generators behind.
 */
export function serve<A extends Api<A>>(api: A): void {
  if (!process.send) throw new Error('serve(): this process was not forked with an IPC channel');
  const send = process.send.bind(process);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Message) => {
    if (message.rpc !== 'call') return;
    const method = (api as Record<string, unknown>)[message.method];
    const reply = (response: Omit<Response, 'rpc' | 'id'>): void => {
      if (process.connected) send({ rpc: 'result', id: message.id, ...response } satisfies Response);
    };
    if (typeof method !== 'function') {
      reply({ ok: false, error: `no method ${message.method}` });
      return;
    }
    Promise.resolve()
      .then(() => (method as (arg: unknown) => unknown).call(api, message.arg))
      .then(
        (value) => reply({ ok: true, value }),
        (err: unknown) => reply({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
}

/** Sends a notice to the parent (no-op once the channel is closed). */
export function notify(kind: string, body: unknown): void {
  if (process.send && process.connected) process.send({ rpc: 'notice', kind, body } satisfies Notice);
}
