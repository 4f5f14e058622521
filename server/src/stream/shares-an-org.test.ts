import { sharesAnOrg } from './partition-reader';
import type { EncodedFrame } from './stream-entry';

const frame = (...rooms: string[]): EncodedFrame => ({ rooms, json: '{"events":[]}', deflated: undefined, events: 1, firstTs: 0, bytes: 13, frame: () => ({ events: [] }) });

test('frames of different orgs never share a socket: no coalescing', () => {
  expect(sharesAnOrg([frame('org:a:svc:billing'), frame('org:b:svc:billing'), 'heartbeat', undefined, frame('org:c:svc:tickets')])).toBe(false);
});

test('two frames of one org (one room, or two services of it) may reach one socket: coalesce', () => {
  expect(sharesAnOrg([frame('org:a:svc:billing'), frame('org:b:svc:billing'), frame('org:a:svc:billing')])).toBe(true);
  expect(sharesAnOrg([frame('org:a:svc:billing'), frame('org:a:svc:tickets')])).toBe(true);
  // An org-wide notice and a service's event of that org reach the same sockets too.
  expect(sharesAnOrg([frame('org:a'), frame('org:a:svc:billing')])).toBe(true);
});

test('an org whose name ends like another org\'s prefix is another org', () => {
  expect(sharesAnOrg([frame('org:ab:svc:billing'), frame('org:a:svc:billing')])).toBe(false);
});
