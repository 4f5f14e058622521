import pino from 'pino';
import { Writable } from 'node:stream';
import { createClientAddress, resolveTrustProxy, type TrustProxy } from './client-address';

/** A logger that keeps the messages it is given. */
function recordingLogger(): { logger: pino.Logger; messages: string[] } {
  const messages: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      messages.push((JSON.parse(chunk.toString('utf8')) as { msg: string }).msg);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), messages };
}

const addressOf = (trust: TrustProxy, peer: string, forwardedFor?: string | string[]): string =>
  createClientAddress(resolveTrustProxy(trust), pino({ level: 'silent' })).of(peer, forwardedFor);

describe('without trusted proxies', () => {
  test.each([
    ['no header', undefined],
    ['a forged header', '198.51.100.9'],
    ['a forged list', '198.51.100.9, 203.0.113.4'],
  ])('the TCP peer is the client with %s', (_name, header) => {
    expect(addressOf(false, '192.0.2.10', header)).toBe('192.0.2.10');
  });

  test('an IPv4-mapped peer is written as IPv4', () => {
    expect(addressOf(false, '::ffff:192.0.2.10')).toBe('192.0.2.10');
  });
});

describe('a hop count', () => {
  test.each<[string, TrustProxy, string | string[] | undefined, string]>([
    ['one proxy that appended the client', 1, '203.0.113.4', '203.0.113.4'],
    ['one proxy: entries the client wrote before it are ignored', 1, '198.51.100.9, 10.9.9.9, 203.0.113.4', '203.0.113.4'],
    ['one proxy: duplicate headers are one list', 1, ['198.51.100.9', '203.0.113.4'], '203.0.113.4'],
    ['two proxies: the entry the outer proxy appended', 2, '198.51.100.9, 203.0.113.4, 10.0.0.5', '203.0.113.4'],
    ['true is one hop', true, '198.51.100.9, 203.0.113.4', '203.0.113.4'],
    ['more hops than entries: the leftmost address', 3, '203.0.113.4', '203.0.113.4'],
    ['ports and brackets are dropped', 1, '[2001:db8::7]:4711', '2001:db8::7'],
    ['an IPv4 entry with a port', 1, '203.0.113.4:51000', '203.0.113.4'],
    ['an entry that is not an address: the proxy is the last one known', 1, 'unknown', '192.0.2.10'],
    ['an empty header', 1, ' ', '192.0.2.10'],
  ])('%s', (_name, trust, header, expected) => {
    expect(addressOf(trust, '192.0.2.10', header)).toBe(expected);
  });
});

describe('proxy CIDRs', () => {
  const proxies = ['10.0.0.0/8', '2001:db8:ffff::/48'];

  test.each<[string, string, string | undefined, string]>([
    ['a request from a proxy: the rightmost address that is not a proxy', '10.1.2.3', '198.51.100.9, 203.0.113.4, 10.0.0.7', '203.0.113.4'],
    ['a request from an IPv6 proxy', '2001:db8:ffff::1', '203.0.113.4', '203.0.113.4'],
    ['a request from an IPv4-mapped proxy address', '::ffff:10.1.2.3', '203.0.113.4', '203.0.113.4'],
    ['a request not from a proxy: its header is ignored', '203.0.113.50', '198.51.100.9', '203.0.113.50'],
    ['every entry a proxy: the leftmost', '10.1.2.3', '10.0.0.9, 10.0.0.8', '10.0.0.9'],
    ['garbage left of the client is never reached', '10.1.2.3', 'evil, 203.0.113.4', '203.0.113.4'],
  ])('%s', (_name, peer, header, expected) => {
    expect(addressOf(proxies, peer, header)).toBe(expected);
  });
});

test('an untrusted X-Forwarded-For is reported once, naming TRUST_PROXY', () => {
  const { logger, messages } = recordingLogger();
  const addresses = createClientAddress(false, logger);
  addresses.of('192.0.2.10', undefined);
  expect(messages).toEqual([]);
  addresses.of('192.0.2.10', '203.0.113.4');
  addresses.of('192.0.2.11', '203.0.113.5');
  expect(messages).toHaveLength(1);
  expect(messages[0]).toMatch(/X-Forwarded-For .* not a trusted proxy.*TRUST_PROXY/);
});

test('a trusted X-Forwarded-For is not reported; one from outside the proxy CIDRs is', () => {
  const { logger, messages } = recordingLogger();
  const addresses = createClientAddress(resolveTrustProxy(['10.0.0.0/8']), logger);
  addresses.of('10.0.0.1', '203.0.113.4');
  expect(messages).toEqual([]);
  addresses.of('203.0.113.9', '198.51.100.1');
  expect(messages).toHaveLength(1);
});
