import { LatencyWindow } from './latency-window';

test('an empty window reports no latency', () => {
  expect(new LatencyWindow(10).summary()).toEqual({ avg: null, p50: null, p95: null, p99: null, samples: 0 });
});

test('percentiles are nearest-rank over the recorded values, in any order', () => {
  const window = new LatencyWindow(1000);
  const values = Array.from({ length: 100 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
  for (const value of values) window.record(value);
  expect(window.summary()).toEqual({ avg: 50.5, p50: 50, p95: 95, p99: 99, samples: 100 });
});

test('only the last N events count: older ones roll out of the window', () => {
  const window = new LatencyWindow(10);
  for (let i = 0; i < 10; i++) window.record(10_000);
  for (let i = 1; i <= 10; i++) window.record(i);
  expect(window.summary()).toEqual({ avg: 5.5, p50: 5, p95: 10, p99: 10, samples: 10 });
});

test('negative values (a device clock ahead of the server) are kept, not hidden', () => {
  const window = new LatencyWindow(3);
  window.record(-20);
  window.record(10);
  window.record(40);
  expect(window.summary()).toMatchObject({ p50: 10, avg: 10 });
});
