import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'socket.io-client';
import { SignJWT, UnsecuredJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { createNode, type RoomwireNode } from '@roomwire/server';
import { catalog, type ErrorCode, type StreamPosition } from '@roomwire/shared';
import { DEFAULT_WAIT_MS, waitUntil } from './harness';
import { startCluster, testNodeOptions, type TestCluster } from './support/cluster';
import { connectedSocket, foreignRooms, handshakeWith, request, serviceRoomsOf, type AnyAck } from './support/hostile-sockets';
import { TEST_JWT_SECRET, signToken, uniqueOrg } from './support/tokens';

const CATALOG_SERVICES = Object.keys(catalog);

let cluster: TestCluster;
let node: RoomwireNode;
/** A node of the same cluster with the default per-socket rate limit (20 requests/s). */
let limitedNode: RoomwireNode;
/** A node of the same cluster whose catalog no longer has `presence`. */
let shrunkNode: RoomwireNode;
/** A standalone HS256 node that checks `iss` and `aud`. */
let issuerNode: RoomwireNode;
const sockets: Socket[] = [];

beforeAll(async () => {
  // The hostile-body tests send hundreds of requests on one socket: the per-socket limit has its own test below.
  cluster = await startCluster({ nodes: 1, node: { rateLimits: { clientEventsPerSocketPerSecond: 100_000 } } });
  node = cluster.nodes[0] as RoomwireNode;
  limitedNode = await createNode(testNodeOptions({ redisUrl: cluster.redis.url, nodeId: 'limited' }));
  const { presence: _removed, ...withoutPresence } = catalog;
  shrunkNode = await createNode(testNodeOptions({ redisUrl: cluster.redis.url, nodeId: 'shrunk', catalog: withoutPresence }));
  issuerNode = await createNode(testNodeOptions({ auth: { jwtSecret: TEST_JWT_SECRET, issuer: 'https://id.example', audience: 'roomwire' }, nodeId: 'issuer' }));
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.allSettled([limitedNode, shrunkNode, issuerNode].map((n) => n?.close()));
  await cluster?.cleanup();
});

async function open(target: RoomwireNode, org: string, services: string[] | '*'): Promise<Socket> {
  const socket = await connectedSocket(target.url, await signToken({ org, services }));
  sockets.push(socket);
  return socket;
}

function expectRefused(ack: AnyAck, code: ErrorCode): void {
  expect(ack).toEqual({ ok: false, error: { code, message: expect.any(String) } });
}

/** 10 000 distinct valid names (base 36), small enough to fit one 64 KiB packet. */
const TEN_THOUSAND_NAMES = Array.from({ length: 10_000 }, (_, i) => i.toString(36));

type Expected = ErrorCode | 'ok';
/** `services` values and what subscribe, resume and unsubscribe answer for a token allowing only `billing`. */
const hostileServices: [string, unknown, { subscribe: Expected; unsubscribe: Expected }][] = [
  ['missing', undefined, { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['null', null, { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a string', 'billing', { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a number', 42, { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['an object', { 0: 'billing', length: 1 }, { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['an empty list', [], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['10 000 distinct names', TEN_THOUSAND_NAMES, { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['6 000 copies of an allowed name', Array(6000).fill('billing'), { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['101 distinct names', TEN_THOUSAND_NAMES.slice(0, 101), { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a 65-character name', ['b'.repeat(65)], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a 60 000-character name', ['b'.repeat(60_000)], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['an empty name', [''], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a number entry', [7], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a null entry', [null], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a boolean entry', [true], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a nested list', [['billing']], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['an object entry', [{ name: 'billing' }], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  // String(entry) throws for an object whose toString is not callable: still a malformed request.
  ['an object entry with a toString key', [{ toString: 1 }], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['an object entry with toString and valueOf keys', [{ toString: 'x', valueOf: {} }], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a path', ['../billing'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a dot-dot', ['..'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a url-encoded path', ['%2e%2e%2fbilling'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a room-name injection', ['acme:svc:billing'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a full room name', ['org:acme:svc:billing'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['the synced marker room', ['rw:synced'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a wildcard', ['*'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a trailing newline', ['billing\n'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a NUL byte', ['billing\u0000'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a zero-width space', ['billing\u200b'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['an accented name', ['bílling'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['full-width letters', ['ｂｉｌｌｉｎｇ'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['an emoji', ['💸'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['a right-to-left override', ['\u202egnillib'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['__proto__', ['__proto__'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['an allowed name then a bad one', ['billing', '../tickets'], { subscribe: 'RW_ERR_INVALID_REQUEST', unsubscribe: 'RW_ERR_INVALID_REQUEST' }],
  ['constructor', ['constructor'], { subscribe: 'RW_ERR_UNKNOWN_EVENT', unsubscribe: 'ok' }],
  ['hasOwnProperty', ['hasOwnProperty'], { subscribe: 'RW_ERR_UNKNOWN_EVENT', unsubscribe: 'ok' }],
  ['a service not in the catalog', ['payroll'], { subscribe: 'RW_ERR_UNKNOWN_EVENT', unsubscribe: 'ok' }],
  ['an allowed service then an unknown one', ['billing', 'payroll'], { subscribe: 'RW_ERR_UNKNOWN_EVENT', unsubscribe: 'ok' }],
  ['a service the token does not allow', ['tickets'], { subscribe: 'RW_ERR_FORBIDDEN', unsubscribe: 'ok' }],
  ['an allowed service then a forbidden one', ['billing', 'tickets'], { subscribe: 'RW_ERR_FORBIDDEN', unsubscribe: 'ok' }],
];

describe('requests with hostile services', () => {
  let org: string;
  let socket: Socket;
  let position: StreamPosition;

  beforeAll(async () => {
    org = uniqueOrg('hostile');
    socket = await open(node, org, ['billing']);
    // A real position for resume bodies, taken on another socket so this one stays unsubscribed.
    const probe = await open(node, org, ['billing']);
    position = ((await request(probe, 'rw:subscribe', { services: ['billing'] })) as unknown as { position: StreamPosition }).position;
    probe.close();
  });

  afterEach(() => {
    // One bad entry fails the whole request and nothing changes: no hostile request joins a room.
    expect(serviceRoomsOf(node, socket.id as string)).toEqual([]);
  });

  test.each(hostileServices)('services as %s', async (_name, services, expected) => {
    const body = services === undefined ? {} : { services };
    const subscribe = await request(socket, 'rw:subscribe', body);
    expectRefused(subscribe, expected.subscribe as ErrorCode);
    // Resume answers like subscribe; services are checked before the position.
    expectRefused(await request(socket, 'rw:resume', { ...body, position }), expected.subscribe as ErrorCode);
    expectRefused(await request(socket, 'rw:resume', { ...body, position: '../../etc/passwd' }), expected.subscribe as ErrorCode);
    const unsubscribe = await request(socket, 'rw:unsubscribe', body);
    if (expected.unsubscribe === 'ok') expect(unsubscribe).toMatchObject({ ok: true });
    else expectRefused(unsubscribe, expected.unsubscribe);
  });

  test.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 1e308],
    ['a string', 'billing'],
    ['a list of names', ['billing']],
    ['a boolean', false],
    ['an object with toString', { toString: 1 }],
  ])('a body that is %s is an invalid request', async (_name, body) => {
    for (const event of ['rw:subscribe', 'rw:resume', 'rw:unsubscribe']) expectRefused(await request(socket, event, body), 'RW_ERR_INVALID_REQUEST');
  });

  test.each([
    ['missing', undefined],
    ['null', null],
    ['a string', '1718000000000-0'],
    ['a list', ['epoch', '1-0']],
    ['an empty epoch', { epoch: '', offset: '1-0' }],
    ['a 101-character epoch', { epoch: 'e'.repeat(101), offset: '1-0' }],
    ['a number epoch', { epoch: 7, offset: '1-0' }],
    ['an object epoch', { epoch: { toString: 1 }, offset: '1-0' }],
    ['a missing offset', { epoch: 'e' }],
    ['a number offset', { epoch: 'e', offset: 1718000000000 }],
    ['an empty offset', { epoch: 'e', offset: '' }],
    ['an offset without sequence', { epoch: 'e', offset: '1718000000000' }],
    ['a negative offset', { epoch: 'e', offset: '-1-0' }],
    ['a three-part offset', { epoch: 'e', offset: '1-0-0' }],
    ['a decimal offset', { epoch: 'e', offset: '1.5-0' }],
    ['an exponent offset', { epoch: 'e', offset: '1e3-0' }],
    ['a padded offset', { epoch: 'e', offset: ' 1-0' }],
    ['an offset with a trailing newline', { epoch: 'e', offset: '1-0\n' }],
    ['full-width digits', { epoch: 'e', offset: '１-０' }],
    ['a 21-digit offset', { epoch: 'e', offset: `${'9'.repeat(21)}-0` }],
    ['a Redis special id', { epoch: 'e', offset: '$' }],
    ['a Redis range bound', { epoch: 'e', offset: '+' }],
  ])('a resume position that is %s is an invalid request', async (_name, hostile) => {
    const ack = await request(socket, 'rw:resume', { services: ['billing'], ...(hostile === undefined ? {} : { position: hostile }) });
    expectRefused(ack, 'RW_ERR_INVALID_REQUEST');
  });

  test('services are checked before the position: a forbidden service with a bad position is forbidden', async () => {
    expectRefused(await request(socket, 'rw:resume', { services: ['tickets'], position: { epoch: '', offset: 'x' } }), 'RW_ERR_FORBIDDEN');
  });

  test.each([
    ['no body', [] as unknown[]],
    ['two arguments', [{ services: ['billing'] }, 'x']],
    ['five arguments', [{ services: ['billing'] }, 1, null, {}, 'x']],
  ])('a request with %s is answered RW_ERR_INVALID_REQUEST (not left waiting) and changes nothing', async (_name, args) => {
    for (const event of ['rw:subscribe', 'rw:unsubscribe', 'rw:resume', 'rw:refresh', 'rw:publish']) {
      const ack = (await socket.timeout(DEFAULT_WAIT_MS).emitWithAck(event, ...args)) as AnyAck;
      expectRefused(ack, 'RW_ERR_INVALID_REQUEST');
    }
    expect(serviceRoomsOf(node, socket.id as string)).toEqual([]);
  });

  test('a request without an ack callback is executed but not answered, and the next one is answered', async () => {
    socket.emit('rw:subscribe', { services: ['../billing'] });
    socket.emit('rw:subscribe', { services: ['tickets'] });
    expectRefused(await request(socket, 'rw:subscribe', { services: ['tickets'] }), 'RW_ERR_FORBIDDEN');
  });

  test('an unknown rw: request with an ack is answered RW_ERR_INVALID_REQUEST in its turn (not left waiting) and changes nothing', async () => {
    const order: string[] = [];
    const track = (name: string, ack: Promise<AnyAck>): Promise<AnyAck> => ack.then((a) => (order.push(name), a));
    const [forbidden, unknown, noBody, unsubscribe] = await Promise.all([
      track('subscribe', request(socket, 'rw:subscribe', { services: ['tickets'] })),
      track('archive', request(socket, 'rw:archive', { services: ['billing'] })),
      track('no body', socket.timeout(3000).emitWithAck('rw:Subscribe') as Promise<AnyAck>),
      track('unsubscribe', request(socket, 'rw:unsubscribe', { services: ['billing'] })),
    ]);
    expectRefused(forbidden, 'RW_ERR_FORBIDDEN');
    expectRefused(unknown, 'RW_ERR_INVALID_REQUEST');
    expect(unknown).toMatchObject({ error: { message: expect.stringContaining('"rw:archive"') } });
    expectRefused(noBody, 'RW_ERR_INVALID_REQUEST');
    expect(unsubscribe).toEqual({ ok: true, services: ['billing'] });
    expect(order).toEqual(['subscribe', 'archive', 'no body', 'unsubscribe']);
  });

  test('an unknown event outside rw: is ignored: its ack never comes, later requests are answered', async () => {
    let answered = false;
    socket.emit('history', { services: ['billing'] }, () => {
      answered = true;
    });
    expectRefused(await request(socket, 'rw:subscribe', { services: ['tickets'] }), 'RW_ERR_FORBIDDEN');
    expect(answered).toBe(false);
  });
});

describe('hostile requests that name allowed services', () => {
  test('an org or room in the body is ignored: the socket joins only its own org rooms', async () => {
    const org = uniqueOrg('own');
    const other = uniqueOrg('victim');
    const socket = await open(node, org, ['billing']);
    const ack = await request(socket, 'rw:subscribe', { org: other, room: `org:${other}:svc:billing`, services: ['billing'] });
    expect(ack).toMatchObject({ ok: true, services: ['billing'] });
    expect(serviceRoomsOf(node, socket.id as string)).toEqual([`org:${org}:svc:billing`]);
    expect([...(node.io.of('/').sockets.get(socket.id as string)?.rooms ?? [])]).not.toContain(`org:${other}`);

    // Events of the other org do not arrive; the socket's own do.
    const got: { org: string }[] = [];
    socket.on('rw:event', (frame: { events?: { org: string }[] }) => got.push(...(frame.events ?? [])));
    await cluster.publisher.to(other, 'billing').emit('invoice.paid', { invoiceId: 'leak', amountCents: 1 });
    await cluster.publisher.to(org, 'billing').emit('invoice.paid', { invoiceId: 'own', amountCents: 1 });
    await waitUntil(() => got.length > 0, { what: 'the own-org event' });
    expect(got.map((e) => e.org)).toEqual([org]);
  });

  test('hostile but well-formed positions are answered without an error and join only allowed rooms', async () => {
    const org = uniqueOrg('pos');
    const socket = await open(node, org, ['billing']);
    const { position } = (await request(socket, 'rw:subscribe', { services: ['billing'] })) as unknown as { position: StreamPosition };
    const resume = (p: StreamPosition): Promise<AnyAck> => request(socket, 'rw:resume', { services: ['billing'], position: p });

    expect(await resume({ epoch: 'not-the-epoch', offset: position.offset })).toMatchObject({ ok: true, recovered: false, reason: 'stream-reset' });
    expect(await resume({ epoch: '../../etc/passwd', offset: position.offset })).toMatchObject({ ok: true, recovered: false, reason: 'stream-reset' });
    expect(await resume({ epoch: position.epoch, offset: '0-0' })).toMatchObject({ ok: true, recovered: false, reason: 'window-expired' });
    expect(await resume({ epoch: position.epoch, offset: '0000000000000000000-0' })).toMatchObject({ ok: true, recovered: false, reason: 'window-expired' });
    for (const offset of ['18446744073709551615-18446744073709551615', '99999999999999999999-99999999999999999999', `${Date.now() + 86_400_000}-0`]) {
      const ack = await resume({ epoch: position.epoch, offset });
      expect(ack).toMatchObject({ ok: true, services: ['billing'], position: { epoch: position.epoch, offset: expect.stringMatching(/^\d+-\d+$/) } });
    }
    expect(serviceRoomsOf(node, socket.id as string)).toEqual([`org:${org}:svc:billing`]);
  });

  test('after every hostile request of this file, no room outside the node\'s own naming exists', () => {
    expect(foreignRooms(node, CATALOG_SERVICES)).toEqual([]);
  });
});

test('a service removed from the catalog but named by the token cannot be subscribed or resumed, and can be left', async () => {
  const org = uniqueOrg('shrunk');
  const socket = await open(shrunkNode, org, ['billing', 'presence']);
  expectRefused(await request(socket, 'rw:subscribe', { services: ['presence'] }), 'RW_ERR_UNKNOWN_EVENT');
  expectRefused(await request(socket, 'rw:subscribe', { services: ['billing', 'presence'] }), 'RW_ERR_UNKNOWN_EVENT');
  expectRefused(await request(socket, 'rw:resume', { services: ['presence'], position: { epoch: 'e', offset: '1-0' } }), 'RW_ERR_UNKNOWN_EVENT');
  expect(serviceRoomsOf(shrunkNode, socket.id as string)).toEqual([]);
  expect(await request(socket, 'rw:unsubscribe', { services: ['presence'] })).toEqual({ ok: true, services: ['presence'] });
  expect(await request(socket, 'rw:subscribe', { services: ['billing'] })).toMatchObject({ ok: true, services: ['billing'] });
});

test('a flood of hostile requests on a node with the default limit is answered with RW_ERR_RATE_LIMITED beyond 20 per second', async () => {
  const socket = await open(limitedNode, uniqueOrg('flood'), ['billing']);
  const acks = await Promise.all(Array.from({ length: 40 }, (_, i) => request(socket, i % 2 ? 'rw:subscribe' : 'rw:resume', { services: [`../${i}`] })));
  const codes = acks.map((a) => (a.ok ? 'ok' : a.error.code));
  expect(codes.every((c) => c === 'RW_ERR_INVALID_REQUEST' || c === 'RW_ERR_RATE_LIMITED')).toBe(true);
  // All 40 arrive within a few ms, inside one 1-second window: 20 run, the rest are refused.
  expect(codes.filter((c) => c === 'RW_ERR_RATE_LIMITED').length).toBeGreaterThanOrEqual(15);
  expect(codes.filter((c) => c === 'RW_ERR_INVALID_REQUEST').length).toBeLessThanOrEqual(25);
  expect(serviceRoomsOf(limitedNode, socket.id as string)).toEqual([]);
});

describe('JWT attacks at the handshake', () => {
  const now = (): number => Math.floor(Date.now() / 1000);
  const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  /** A token built by hand, so headers jose would refuse to produce can be sent. */
  const forge = (header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer = TEST_JWT_SECRET, hash = 'sha256'): string => {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
  };
  const claims = (): Record<string, unknown> => ({ org: 'acme', services: '*', exp: now() + 600 });
  const hs256 = (extra: Record<string, unknown> = {}) =>
    new SignJWT({ org: 'acme', services: '*', ...extra }).setProtectedHeader({ alg: 'HS256' });
  const secret = new TextEncoder().encode(TEST_JWT_SECRET);
  const refused = (code: ErrorCode) => ({ code, message: expect.any(String) });

  test('the control: a valid token connects', async () => {
    expect(await handshakeWith(node.url, { token: await hs256().setExpirationTime('5m').sign(secret), v: 1 })).toBe('connected');
  });

  test('alg none, in every spelling, is refused', async () => {
    const token = new UnsecuredJWT({ org: 'acme', services: '*' }).setExpirationTime('1h').encode();
    expect(await handshakeWith(node.url, { token, v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const unsigned = `${b64({ alg, typ: 'JWT' })}.${b64(claims())}.`;
      expect(await handshakeWith(node.url, { token: unsigned, v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
      // The real signature of the same input, under a header that claims none.
      expect(await handshakeWith(node.url, { token: forge({ alg }, claims()), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    }
  });

  test('other HMAC algorithms and odd spellings of HS256 with the right secret are refused (algorithms are pinned)', async () => {
    expect(await handshakeWith(node.url, { token: forge({ alg: 'HS512' }, claims(), TEST_JWT_SECRET, 'sha512'), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    expect(await handshakeWith(node.url, { token: forge({ alg: 'HS384' }, claims(), TEST_JWT_SECRET, 'sha384'), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    expect(await handshakeWith(node.url, { token: forge({ alg: 'hs256' }, claims()), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    expect(await handshakeWith(node.url, { token: forge({ alg: 'HS256', crit: ['x-unknown'], 'x-unknown': 1 }, claims()), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    // The control for the forger: a hand-made HS256 token is otherwise accepted.
    expect(await handshakeWith(node.url, { token: forge({ alg: 'HS256', kid: '../../../dev/null' }, claims()), v: 1 })).toBe('connected');
  });

  test('HS/RS confusion: RS256 tokens and HS256 tokens keyed with an RSA public key are refused by an HS256 node', async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(pair.publicKey);
    const rs = await new SignJWT({ org: 'acme', services: '*' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('5m').sign(pair.privateKey);
    expect(await handshakeWith(node.url, { token: rs, v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    expect(await handshakeWith(node.url, { token: forge({ alg: 'HS256' }, claims(), pem), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    expect(await handshakeWith(node.url, { token: forge({ alg: 'HS256' }, claims(), Buffer.from(JSON.stringify(await exportJWK(pair.publicKey)))), v: 1 })).toEqual(
      refused('RW_ERR_UNAUTHORIZED'),
    );
  });

  test('HS/RS confusion against a JWKS node: an HS256 token keyed with the published public key is refused', async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const rsNode = await createNode(testNodeOptions({ auth: { jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json` }, nodeId: 'jwks' }));
    try {
      const pem = await exportSPKI(pair.publicKey);
      const good = await new SignJWT({ org: 'acme', services: '*' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('5m').sign(pair.privateKey);
      expect(await handshakeWith(rsNode.url, { token: good, v: 1 })).toBe('connected');
      for (const key of [pem, Buffer.from(JSON.stringify(jwk)), Buffer.from(jwk.n as string, 'base64url')]) {
        expect(await handshakeWith(rsNode.url, { token: forge({ alg: 'HS256', kid: 'k1' }, claims(), key), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
      }
    } finally {
      await rsNode.close();
      await new Promise((resolve) => jwks.close(resolve));
    }
  });

  test('expired, not yet valid, and exp-less tokens are refused', async () => {
    expect(await handshakeWith(node.url, { token: await hs256().setIssuedAt(now() - 120).setExpirationTime(now() - 60).sign(secret), v: 1 })).toEqual(
      refused('RW_ERR_TOKEN_EXPIRED'),
    );
    expect(await handshakeWith(node.url, { token: await hs256().setNotBefore(now() + 600).setExpirationTime('1h').sign(secret), v: 1 })).toEqual(
      refused('RW_ERR_UNAUTHORIZED'),
    );
    expect(await handshakeWith(node.url, { token: await hs256().sign(secret), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    expect(await handshakeWith(node.url, { token: forge({ alg: 'HS256' }, { ...claims(), exp: String(now() + 600) }), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    expect(await handshakeWith(node.url, { token: forge({ alg: 'HS256' }, { ...claims(), exp: null }), v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
  });

  test('wrong or missing issuer and audience are refused by a node configured with them', async () => {
    const base = () => hs256().setExpirationTime('5m');
    expect(await handshakeWith(issuerNode.url, { token: await base().setIssuer('https://id.example').setAudience('roomwire').sign(secret), v: 1 })).toBe('connected');
    expect(await handshakeWith(issuerNode.url, { token: await base().setIssuer('https://id.example').setAudience(['other', 'roomwire']).sign(secret), v: 1 })).toBe(
      'connected',
    );
    for (const token of [
      await base().setIssuer('https://evil.example').setAudience('roomwire').sign(secret),
      await base().setIssuer('https://id.example').setAudience('other').sign(secret),
      await base().setIssuer('https://id.example.evil').setAudience('roomwire').sign(secret),
      await base().setAudience('roomwire').sign(secret),
      await base().setIssuer('https://id.example').sign(secret),
      await base().sign(secret),
      forge({ alg: 'HS256' }, { ...claims(), iss: ['https://id.example'], aud: 'roomwire' }),
      forge({ alg: 'HS256' }, { ...claims(), iss: 'https://id.example', aud: { 0: 'roomwire' } }),
    ]) {
      expect(await handshakeWith(issuerNode.url, { token, v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    }
  });

  test('a token over 8 KiB is refused, even when validly signed', async () => {
    const token = await hs256({ pad: 'p'.repeat(9000) }).setExpirationTime('5m').sign(secret);
    expect(Buffer.byteLength(token)).toBeGreaterThan(8192);
    expect(await handshakeWith(node.url, { token, v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
    // Multi-byte characters: 3000 of them are under 8192 characters but over 8192 bytes.
    const wide = await hs256({ pad: '€'.repeat(2800) }).setExpirationTime('5m').sign(secret);
    expect(await handshakeWith(node.url, { token: `${wide}€€€€`, v: 1 })).toEqual(refused('RW_ERR_UNAUTHORIZED'));
  });

  test('tokens with hostile claims are refused', async () => {
    for (const bad of [
      { org: 'acme:svc:billing' },
      { org: '../acme' },
      { org: '' },
      { org: 'a'.repeat(65) },
      { org: 42 },
      { org: ['acme'] },
      { org: { toString: 1 } },
      { services: 'billing' },
      { services: ['billing:svc:x'] },
      { services: [{ toString: 1 }] },
      { services: Array.from({ length: 1001 }, (_, i) => `s${i}`) },
      { services: null },
      { sub: 's'.repeat(257) },
    ]) {
      expect([JSON.stringify(bad).slice(0, 60), await handshakeWith(node.url, { token: forge({ alg: 'HS256' }, { ...claims(), ...bad }), v: 1 })]).toEqual([
        JSON.stringify(bad).slice(0, 60),
        refused('RW_ERR_UNAUTHORIZED'),
      ]);
    }
  });

  test('garbage tokens are refused', async () => {
    for (const token of [
      '',
      'a',
      '..',
      'a.b.c',
      'eyJ.eyJ.sig',
      `${b64({ alg: 'HS256' })}.${b64('not json')}.${b64('sig')}`,
      `${b64('[]')}.${b64(claims())}.x`,
      `${b64({ alg: 'HS256' })}.${b64(claims())}`,
      `${b64({ alg: 'HS256' })}.${b64(claims())}.a.b`,
      '💥.💥.💥',
      '\u0000\u0000\u0000',
      ' '.repeat(100),
      'x'.repeat(8192),
      42,
      true,
      null,
      ['a.b.c'],
      { toString: 1 },
    ]) {
      expect([String(JSON.stringify(token)).slice(0, 40), await handshakeWith(node.url, { token, v: 1 })]).toEqual([
        String(JSON.stringify(token)).slice(0, 40),
        refused('RW_ERR_UNAUTHORIZED'),
      ]);
    }
  });

  test('hostile protocol versions are refused with RW_ERR_UNSUPPORTED_PROTOCOL', async () => {
    const token = await hs256().setExpirationTime('5m').sign(secret);
    for (const v of [2, 0, -1, 1.5, '1', [], [1], null, true, {}, 'x'.repeat(10_000)]) {
      expect(await handshakeWith(node.url, { token, v })).toEqual(refused('RW_ERR_UNSUPPORTED_PROTOCOL'));
    }
  });

  test('a protocol version that cannot be turned into a string is refused, not left unanswered, and the node stays up', async () => {
    const token = await hs256().setExpirationTime('5m').sign(secret);
    // String({ toString: 1 }) throws: the refusal must not depend on printing the value.
    expect(await handshakeWith(node.url, { token, v: { toString: 1 } })).toEqual(refused('RW_ERR_UNSUPPORTED_PROTOCOL'));
    expect(await handshakeWith(node.url, { token, v: { toString: 'x', valueOf: {} } })).toEqual(refused('RW_ERR_UNSUPPORTED_PROTOCOL'));
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    const pending = (node.io.of('/') as unknown as { _preConnectSockets?: Map<string, unknown> })._preConnectSockets;
    await waitUntil(() => (pending?.size ?? 0) === 0, { what: 'no half-open handshakes left on the node' });
  });

  test('hostile recovery fields in the handshake are ignored: the socket connects fresh', async () => {
    const token = await hs256().setExpirationTime('5m').sign(secret);
    for (const extra of [
      { pid: 'x'.repeat(10_000), offset: '1-0' },
      { pid: '../../', offset: '../../' },
      { pid: { toString: 1 }, offset: { toString: 1 } },
      { pid: 'p', offset: '99999999999999999999-99999999999999999999' },
    ]) {
      expect(await handshakeWith(node.url, { token, v: 1, ...extra })).toBe('connected');
    }
  });

  afterAll(async () => {
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});
