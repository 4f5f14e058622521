import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** Lowest port {@link freePort} picks from, below the kernel's ephemeral range. */
const LOWEST_PORT = 10_000;
/** Ports this process handed out lately: not handed out again while their user may still be starting. */
const recent: number[] = [];
const RECENT_KEPT = 2000;

/**
 * The first port the kernel gives outgoing connections (Linux), or undefined where it cannot be read.
 * Why it matters: a port taken from the ephemeral range can be given to some client socket's local end
 * between the moment it was found free and the moment a server binds it (EADDRINUSE under load, when
 * hundreds of test clients connect).
 */
function ephemeralStart(): number | undefined {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST_PORT + 1000 ? first : undefined;
  } catch {
    return undefined;
  }
}

const EPHEMERAL_START = ephemeralStart();

/** Binds `port` (0: any) on 127.0.0.1 and closes it again; resolves with the port, or undefined if it is taken. */
function tryBind(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err)));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as AddressInfo).port;
      server.close((err) => (err ? reject(err) : resolve(bound)));
    });
  });
}

/**
 * Returns a TCP port that was free on 127.0.0.1 a moment ago. On Linux it is picked at random below the
 * kernel's ephemeral range (where no outgoing connection takes it meanwhile) and not one this process
 * handed out lately; elsewhere the kernel picks one (bind to :0).
 */
export async function freePort(): Promise<number> {
  if (EPHEMERAL_START !== undefined) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate = LOWEST_PORT + Math.floor(Math.random() * (EPHEMERAL_START - LOWEST_PORT));
      if (recent.includes(candidate)) continue;
      // Kept before the bind is tried: a concurrent call must not pick it meanwhile.
      recent.push(candidate);
      if (recent.length > RECENT_KEPT) recent.shift();
      if ((await tryBind(candidate)) !== undefined) return candidate;
    }
  }
  const port = await tryBind(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}
