/**
 * A large table against the real ovs-ofctl (issue 10): 200,000 entries added with
 * `ovs-ofctl add-flows`, then dump-aggregate, dump-flows and del-flows over them while another
 * OpenFlow connection sends an echo request every 10 ms. The switch must answer them all along
 * (the largest gap between echo replies stays under a bound loose enough for a loaded 2-core
 * machine: the table work runs in 10 ms slices) and the answers must be right.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFP_VERSION, OFPT } from '../../protocol/index.js';
import { assertRan, tryRun } from '../helpers/netns.js';
import { OfClient } from '../helpers/of-client.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { freePort } from '../helpers/free-port.js';

const ENTRIES = 200_000;
/** Largest gap (ms) between echo replies allowed while the table is walked (the goal is 100 ms on a quiet machine). */
const MAX_GAP_MS = 1000;
/**
 * The bound for an operation that took `ms`: MAX_GAP_MS, or a third of the operation on a machine
 * so loaded that it took over 3 s. A walk that does not yield has one gap about as long as the
 * walk, so it still fails; a sliced walk's largest gap is about a tenth of it (CI: 129 of 948 ms;
 * two test files at a time at load average 15: 1209 of 10375 ms, which 1000 ms failed).
 */
const gapBound = (ms: number): number => Math.max(MAX_GAP_MS, ms / 3);

const ip = (i: number, a: number): string => `${a}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

t.test(`${ENTRIES.toLocaleString('en')} entries: dumps and del-flows never stop the switch answering`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-large-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'flows.txt');
  const lines: string[] = [];
  for (let i = 0; i < ENTRIES; i++) lines.push(`priority=${1 + (i % 1000)},ip,nw_src=${ip(i, 10)},nw_dst=${ip(i, 172)},actions=output:2`);
  writeFileSync(file, lines.join('\n') + '\n');

  const port = await freePort();
  await startOfswitch(t, ['--fail-mode', 'secure', '--listen', `ptcp:${port}:127.0.0.1`]);
  const target = `tcp:127.0.0.1:${port}`;
  const ofctl = (...args: string[]) => tryRun('ovs-ofctl', ['-O', 'OpenFlow10', '--timeout=120', ...args]);

  const added = await ofctl('add-flows', target, file);
  assertRan(t, added, 'ovs-ofctl add-flows', { output: false });

  const probe = await OfClient.connect(port);
  t.teardown(() => probe.close());
  const replies: number[] = [];
  probe.socket.on('data', () => replies.push(performance.now()));
  let xid = 100;
  const timer = setInterval(() => probe.send({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: xid++, data: new Uint8Array(0) }), 10);
  t.teardown(() => clearInterval(timer));

  /** Runs an ovs-ofctl command and returns the largest gap between echo replies while it ran. */
  const during = async (...args: string[]) => {
    await new Promise((r) => setTimeout(r, 100));
    const start = performance.now();
    const result = await ofctl(...args);
    const end = performance.now();
    await new Promise((r) => setTimeout(r, 100));
    const times = [start, ...replies.filter((x) => x > start && x < end), end];
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    return { result, gap, ms: end - start };
  };

  const agg = await during('dump-aggregate', target);
  assertRan(t, agg.result, 'dump-aggregate');
  t.match(agg.result.stdout, `flow_count=${ENTRIES}`, 'every entry counted');
  t.ok(agg.gap < gapBound(agg.ms), `dump-aggregate (${Math.round(agg.ms)} ms): largest echo gap ${Math.round(agg.gap)} ms`);

  const dump = await during('dump-flows', target);
  assertRan(t, dump.result, 'dump-flows');
  const flows = dump.result.stdout.split('\n').filter((l) => l.includes('actions=output:2'));
  t.equal(flows.length, ENTRIES, 'every entry dumped');
  t.equal(new Set(flows.map((l) => /nw_src=([\d.]+)/.exec(l)?.[1])).size, ENTRIES, 'each once');
  t.ok(dump.gap < gapBound(dump.ms), `dump-flows (${Math.round(dump.ms)} ms): largest echo gap ${Math.round(dump.gap)} ms`);

  const del = await during('del-flows', target);
  assertRan(t, del.result, 'del-flows', { output: false });
  t.ok(del.gap < gapBound(del.ms), `del-flows (${Math.round(del.ms)} ms): largest echo gap ${Math.round(del.gap)} ms`);
  const after = await ofctl('dump-aggregate', target);
  assertRan(t, after, 'dump-aggregate after del-flows');
  t.match(after.stdout, 'flow_count=0', 'the table is empty');
  t.ok(replies.length > 0, 'echo replies came back');
});
