import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decoder, PacketType, type Packet } from 'socket.io-parser';
import { ERROR_CODES, type ErrorCode } from './codes';
import { EVENTS } from './protocol';

/** PROTOCOL.md is normative for client authors: it must not drift from the codes and events in `shared/src`. */
const doc = readFileSync(join(__dirname, '..', 'PROTOCOL.md'), 'utf8');

interface Row {
  code: string;
  httpStatus: number;
  retryable: string;
}

/** Rows of the error-code table (§9): `| \`RW_ERR_…\` | status | yes/no | meaning |`. */
function errorTableRows(): Row[] {
  return doc
    .split('\n')
    .filter((line) => line.startsWith('| `RW_ERR_'))
    .map((line) => {
      const cells = line.split('|').map((cell) => cell.trim());
      // cells[0] is the empty string before the leading pipe.
      const code = /^`(RW_ERR_[A-Z_]+)`$/.exec(cells[1] ?? '')?.[1] ?? `unparsed: ${line}`;
      return { code, httpStatus: Number(cells[2]), retryable: cells[3] ?? '' };
    });
}

test('the error table lists every code of ERROR_CODES, in the same order', () => {
  expect(errorTableRows().map((row) => row.code)).toEqual(Object.keys(ERROR_CODES));
});

test("each row's HTTP status and retryable flag match ERROR_CODES", () => {
  const rows = errorTableRows();
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    expect(Object.prototype.hasOwnProperty.call(ERROR_CODES, row.code)).toBe(true);
    const expected = ERROR_CODES[row.code as ErrorCode];
    expect({ code: row.code, httpStatus: row.httpStatus, retryable: row.retryable }).toEqual({
      code: row.code,
      httpStatus: expected.httpStatus,
      retryable: expected.retryable ? 'yes' : 'no',
    });
  }
});

test('every protocol event name appears in backticks', () => {
  for (const name of Object.values(EVENTS)) expect(doc).toContain(`\`${name}\``);
});

/** `(`0` CONNECT, `2` EVENT, …)` of §1: the Socket.IO packet types the document names, as [number, name]. */
function documentedPacketTypes(): [number, string][] {
  const list = /Socket\.IO type \(([^)]*)\)/.exec(doc)?.[1] ?? '';
  return [...list.matchAll(/`(\d)` ([A-Z_]+)/g)].map((m) => [Number(m[1]), m[2] as string]);
}

test("§1's Socket.IO packet types are socket.io-parser's, and include BINARY_EVENT (compressed frames)", () => {
  const listed = documentedPacketTypes();
  expect(listed.map(([, name]) => name)).toEqual(expect.arrayContaining(['CONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT']));
  for (const [type, name] of listed) expect([type, name]).toEqual([PacketType[name as keyof typeof PacketType], name]);
});

/** Every raw packet of the document: code spans and code-block lines made of digits, an optional attachment count, then JSON. */
function rawPackets(): string[] {
  const spans = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);
  let fenced = false;
  const blockLines = doc.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return fenced && !line.startsWith('```');
  });
  return [...spans, ...blockLines].map((s) => s.trim()).filter((s) => /^\d{2,}-?[[{]/.test(s));
}

test('every raw packet example is an Engine.IO message that socket.io-parser decodes to what the document says', () => {
  const packets = rawPackets();
  expect(packets.length).toBeGreaterThanOrEqual(10);
  for (const raw of packets) {
    expect({ raw, engineIoType: raw[0] }).toEqual({ raw, engineIoType: '4' });
    const payload = raw.slice(1);
    // Abbreviated examples (`…` outside a string) are not meant to parse.
    const json = payload.slice(payload.search(/[[{]/));
    if (json.includes('…') && !isJson(json)) continue;
    const decoded: Packet[] = [];
    const decoder = new Decoder();
    decoder.on('decoded', (packet: Packet) => decoded.push(packet));
    decoder.add(payload);
    const attachments = Number(/^5(\d+)-/.exec(payload)?.[1] ?? 0);
    for (let i = 0; i < attachments; i++) decoder.add(Buffer.from([i]));
    expect({ raw, decoded: decoded.length }).toEqual({ raw, decoded: 1 });
    const packet = decoded[0] as Packet;
    if (packet.type === PacketType.EVENT || packet.type === PacketType.BINARY_EVENT) {
      expect({ raw, event: (Object.values(EVENTS) as unknown[]).includes((packet.data as unknown[])[0]) }).toEqual({ raw, event: true });
    }
  }
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
