/**
 * The metrics endpoint in process: a bridge of memory ports whose injected frames show in the
 * scrape as port, table and microflow-cache counters; HEAD; error types by name (the vendor one
 * included); a scrape that fails is a 500 and one log line, not a half-written answer; an address
 * that cannot be bound is a MetricsError naming it.
 */
import t from 'tap';
import { NXET_VENDOR, OFPET } from '../../protocol/index.js';
import { createSwitch, type Switch } from '../../lib/switch.js';
import { silentLogger, type Logger } from '../../lib/log.js';
import { MetricsError, errorTypeLabel, startMetricsServer } from '../../metrics/index.js';
import { promtoolPasses, sample, scrape } from './scrape.js';

const frame = (src: number, dst: number): Uint8Array => {
  const f = new Uint8Array(60);
  f.set([0x02, 0, 0, 0, 0, dst, 0x02, 0, 0, 0, 0, src, 0x08, 0x06]);
  return f;
};

t.test('injected frames counted per port and in the table, read at scrape time', async (t) => {
  const sw = createSwitch({ linkPollMs: 0 });
  t.teardown(() => sw.close());
  const a = sw.addPort({ name: 'pa', type: 'memory' });
  sw.addPort({ name: 'pb', type: 'memory' });
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, () => new Map([['br9', sw]]), silentLogger);
  t.teardown(() => server.close());
  t.match(server.target, /^ptcp:\d+:127\.0\.0\.1$/, 'the bound port in its target');
  for (let i = 0; i < 4; i++) a.device.inject(frame(1, 2));
  const s = await scrape(server.port);
  promtoolPasses(t, s.text);
  t.equal(sample(s.text, 'ofswitch_port_rx_packets_total', { bridge: 'br9', port: 'pa' }), 4, 'four frames received on pa');
  t.equal(sample(s.text, 'ofswitch_port_rx_bytes_total', { bridge: 'br9', port: 'pa' }), 240, '240 bytes');
  t.equal(sample(s.text, 'ofswitch_port_tx_packets_total', { bridge: 'br9', port: 'pb' }), 4, 'flooded out of pb by NORMAL');
  t.equal(sample(s.text, 'ofswitch_flow_lookups_total', { bridge: 'br9' }), 4, 'four lookups');
  t.equal(sample(s.text, 'ofswitch_flow_matched_total', { bridge: 'br9' }), 4, 'all matched the NORMAL flow');
  t.equal(sample(s.text, 'ofswitch_microflow_cache_misses_total', { bridge: 'br9' }), 1, 'the cache missed the first');
  t.equal(sample(s.text, 'ofswitch_microflow_cache_hits_total', { bridge: 'br9' }), 3, 'and answered the rest');
  t.equal(sample(s.text, 'ofswitch_packet_ins_backlog', { bridge: 'br9', reason: 'no_match' }), 0, 'no packet-in waiting');
  const head = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD /metrics is 200');
  t.equal((await head.text()).length, 0, 'without a body');
  t.equal((await scrape(server.port, '/metrics?x=1')).status, 200, 'a query string is ignored');
});

t.test('error types are labelled by their OFPET names', async (t) => {
  t.equal(errorTypeLabel(OFPET.BAD_ACTION), 'bad_action');
  t.equal(errorTypeLabel(NXET_VENDOR), 'nxet_vendor');
});

t.test('a scrape that fails is a 500 and one log line', async (t) => {
  const errors: string[] = [];
  const log = new Proxy(silentLogger, {
    get: (target, prop) => {
      if (prop === 'error') return (msg: string) => void errors.push(msg);
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Logger;
  const broken = { ports: () => { throw new Error('boom'); } } as unknown as Switch;
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, () => new Map([['bad', broken]]), log);
  t.teardown(() => server.close());
  const s = await scrape(server.port);
  t.equal(s.status, 500, '500');
  t.same(errors, ['metrics scrape failed'], 'logged once');
});

t.test('an address that cannot be bound is a MetricsError naming it', async (t) => {
  await t.rejects(startMetricsServer({ host: '192.0.2.1', port: 0 }, () => new Map(), silentLogger), MetricsError, 'not an address of this machine');
  const first = await startMetricsServer({ host: '127.0.0.1', port: 0 }, () => new Map(), silentLogger);
  t.teardown(() => first.close());
  await t.rejects(startMetricsServer({ host: '127.0.0.1', port: first.port }, () => new Map(), silentLogger), { message: `--metrics ptcp:${first.port}:127.0.0.1: the port is in use` });
});
