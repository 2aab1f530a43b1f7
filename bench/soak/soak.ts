/**
 * The soak run: ofswitch in database mode (ovsdb-server, ovs-vsctl) with one bridge in
 * fail_mode=secure, its ptcp service for the soak's controllers and, unless turned off, a
 * configured controller that stalls; then, all at once for the run's length: the flow-mod storm
 * with barriers and table checks, flapping controllers, the stalling controller, a packet-in flood
 * (trafgen) on port 1, malformed frames (trafgen) on port 2, malformed OpenFlow messages, and
 * ports added and removed; the switch's RSS sampled all along.
 *
 * The run fails, with its first failure as the one message, when: the switch process dies; its
 * RSS grows past the first sample plus the allowed growth; a barrier reply comes out of order or
 * not at all; the table differs from the model; the switch refuses a valid request, does not
 * answer one, answers a malformed one with an internal error, or sends what the codec cannot
 * decode; a port cannot be added; the switch does not stop cleanly on SIGTERM at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Flapper, MalformedClient, PortChurn, StalledController, StormController, type ActorContext } from './actors.js';
import { MemoryLog, parseCpuSeconds, parseVmRss, Verdict } from './checks.js';
import { floodConfig, malformedFramesConfig } from './malformed.js';
import { OfConn } from './of-conn.js';
import { SoakRig, sleep, type Host, type SwitchProcess } from './rig.js';

export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Allowed RSS growth over the first sample, MB. */
  rssGrowthMb: number;
  sampleSeconds: number;
  floodPps: number;
  badFramesPps: number;
  flappers: number;
  stalledReader: boolean;
  stallSeconds: number;
  stallReadSeconds: number;
  batch: number;
  window: number;
  maxFlows: number;
  checkSeconds: number;
  replyTimeoutSeconds: number;
  portSeconds: number;
  malformed: boolean;
  selfCheck: boolean;
}

export const DEFAULTS: SoakOptions = {
  minutes: 10,
  seed: 1,
  rssGrowthMb: 300,
  sampleSeconds: 2,
  floodPps: 20_000,
  badFramesPps: 200,
  flappers: 3,
  stalledReader: true,
  stallSeconds: 20,
  stallReadSeconds: 10,
  batch: 50,
  window: 4,
  maxFlows: 2000,
  checkSeconds: 5,
  replyTimeoutSeconds: 30,
  portSeconds: 4,
  malformed: true,
  selfCheck: false,
};

export interface SoakResult {
  readonly ok: boolean;
  /** The verdict line: "SOAK PASSED ..." or the first failure. */
  readonly message: string;
  readonly failures: readonly string[];
  /** The whole report, as printed. */
  readonly report: string;
  /** Stopped by SIGINT before its time. */
  readonly interrupted: boolean;
}

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

function rxPackets(port: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${port}/statistics/rx_packets`, 'utf8').trim());
  } catch {
    return 0;
  }
}

/** trafgen on the host's eth0 from `conf` at `pps`, in a process group of its own (it forks). */
function startTrafgen(rig: SoakRig, host: Host, conf: string, pps: number): { stopped: () => string | null } {
  const child = rig.track(spawn('ip', ['netns', 'exec', host.ns, 'trafgen', '--dev', 'eth0', '--conf', conf, '-P', '1', '-q', '--rate', `${pps}pps`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  }));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  return {
    stopped: () => (child.exitCode !== null || child.signalCode !== null ? `trafgen stopped: ${stderr.split('\n').filter((l) => !/socket memory/.test(l)).join(' ').trim()}` : null),
  };
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const mb = (bytes: number): string => (bytes / 1048576).toFixed(1);

export async function runSoak(options: SoakOptions, print: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<SoakResult> {
  const o = options;
  const started = Date.now();
  const elapsed = (): number => (Date.now() - started) / 1000;
  const stamp = (line: string): void => print(`[${elapsed().toFixed(0).padStart(5)} s] ${line}`);
  let stopping = false;
  let stopReason = 'time is up';
  const verdict = new Verdict((first) => {
    stamp(`FAILURE: ${first}`);
    stopReason = 'a check failed';
    stopping = true;
  });
  const onSigint = (): void => {
    if (stopping) return;
    stamp('SIGINT: stopping (a second one ends at once)');
    stopReason = 'interrupted';
    stopping = true;
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  const rig = new SoakRig();
  const memory = new MemoryLog(o.rssGrowthMb);
  const lines: string[] = [];
  const report = (line: string): void => {
    lines.push(line);
    print(line);
  };
  let sw: SwitchProcess | null = null;
  let storm: StormController | null = null;
  let stalled: StalledController | null = null;
  const flappers: Flapper[] = [];
  let malformed: MalformedClient | null = null;
  let churn: PortChurn | null = null;
  let flood: Host | null = null;
  let bad: Host | null = null;
  let floodGen: { stopped: () => string | null } | null = null;
  let badGen: { stopped: () => string | null } | null = null;
  let interrupted = false;
  let framesIn = 0;
  let badFramesIn = 0;

  try {
    stamp(`soak: ${o.minutes} min, seed ${o.seed}, flood ${o.floodPps} frames/s, ${o.flappers} flapping controllers, ` +
      `stalled reader ${o.stalledReader ? `${o.stallSeconds} s of every ${o.stallSeconds + o.stallReadSeconds} s` : 'off'}, ` +
      `RSS bound start + ${o.rssGrowthMb} MB${o.selfCheck ? ', SELF-CHECK' : ''}`);
    await rig.startOvsdb();
    sw = await rig.startSwitch();
    const theSwitch = sw;
    stamp(`ofswitch pid ${sw.pid} serving ${rig.dir}`);
    void sw.exited.then((how) => {
      if (!stopping || stopReason !== 'done') verdict.fail(`the switch process died (${how}); its last log lines:\n${theSwitch.lastLines().slice(-15).join('\n')}`);
    });

    const servicePort = await freeTcpPort();
    const ctx: ActorContext = {
      rig,
      servicePort,
      replyTimeoutMs: o.replyTimeoutSeconds * 1000,
      stopping: () => stopping,
      fail: (m) => verdict.fail(m),
      note: (l) => stamp(l),
    };
    const rssNow = (): number | null => {
      try {
        return parseVmRss(readFileSync(`/proc/${theSwitch.pid}/status`, 'utf8'));
      } catch {
        return null; // gone: the exit watcher reports it
      }
    };
    stalled = o.stalledReader ? new StalledController(ctx, o.stallReadSeconds * 1000, o.stallSeconds * 1000, elapsed, rssNow) : null;
    const controllerPort = stalled ? await stalled.listen() : null;
    flood = await rig.addHost('fl');
    bad = await rig.addHost('bad');
    await rig.vsctl(['add-br', rig.bridge, '--', 'set', 'Bridge', rig.bridge, 'fail_mode=secure', 'protocols=OpenFlow10',
      '--', 'add-port', rig.bridge, flood.port, '--', 'set', 'Interface', flood.port, 'ofport_request=1',
      '--', 'add-port', rig.bridge, bad.port, '--', 'set', 'Interface', bad.port, 'ofport_request=2']);
    const targets = [`ptcp:${servicePort}:127.0.0.1`, ...(controllerPort !== null ? [`tcp:127.0.0.1:${controllerPort}`] : [])];
    await rig.vsctl(['set-controller', rig.bridge, ...targets]);
    stamp(`bridge ${rig.bridge}: ports ${flood.port} (1, flood) and ${bad.port} (2, malformed frames); controllers ${targets.join(' ')}`);

    let lastCpu: { at: number; seconds: number } | null = null;
    const cpuNow = (): number | null => {
      try {
        return parseCpuSeconds(readFileSync(`/proc/${theSwitch.pid}/stat`, 'utf8'), CLK_TCK);
      } catch {
        return null;
      }
    };
    const sample = (): void => {
      if (!theSwitch.running()) return;
      const rss = rssNow();
      if (rss === null) return;
      const seconds = cpuNow();
      const at = Date.now();
      const cpu = seconds !== null && lastCpu !== null && at > lastCpu.at ? (100 * (seconds - lastCpu.seconds) * 1000) / (at - lastCpu.at) : null;
      if (seconds !== null) lastCpu = { at, seconds };
      const note = [stalled?.stalled ? 'stalled reader not reading' : '', stopping ? 'stopping' : ''].filter(Boolean).join(', ');
      const over = memory.add({ t: elapsed(), rss, cpu, note });
      if (over) verdict.fail(over);
    };
    // The service port listens once the bridge's controllers are applied; wait for it.
    for (let i = 0; ; i++) {
      try {
        const probe = await OfConn.connect(servicePort, 2000);
        probe.destroy();
        break;
      } catch (err) {
        if (i > 50) throw new Error(`the switch's ptcp:${servicePort} does not accept connections: ${(err as Error).message}`);
        await sleep(100);
      }
    }
    sample(); // the baseline: configured, before any load
    const sampler = setInterval(sample, o.sampleSeconds * 1000);

    storm = new StormController(ctx, {
      seed: o.seed, batch: o.batch, window: o.window, maxFlows: o.maxFlows, checkEveryMs: o.checkSeconds * 1000,
      reconnectEvery: 4, selfCheck: o.selfCheck,
    });
    const running: Promise<void>[] = [];
    const guard = (what: string, p: Promise<void>): Promise<void> =>
      p.catch((err: unknown) => {
        if (!stopping) verdict.fail(`${what}: ${(err as Error).message}`);
      });
    running.push(guard('storm controller', storm.run()));
    for (let i = 0; i < o.flappers; i++) {
      const f = new Flapper(ctx, i + 1, o.seed * 1000 + i);
      flappers.push(f);
      running.push(guard(`flapping controller ${i + 1}`, f.run()));
    }
    if (o.malformed) {
      malformed = new MalformedClient(ctx, o.seed * 7919);
      running.push(guard('malformed OpenFlow client', malformed.run()));
      const conf = join(rig.dir, 'bad.cfg');
      writeFileSync(conf, malformedFramesConfig());
      if (o.badFramesPps > 0) badGen = startTrafgen(rig, bad, conf, o.badFramesPps);
    }
    if (o.portSeconds > 0) {
      churn = new PortChurn(ctx, o.portSeconds * 1000);
      running.push(guard('port churn', churn.run()));
    }
    if (o.floodPps > 0) {
      const conf = join(rig.dir, 'flood.cfg');
      writeFileSync(conf, floodConfig());
      floodGen = startTrafgen(rig, flood, conf, o.floodPps);
    }

    const end = started + o.minutes * 60_000;
    let lastProgress = Date.now();
    const floodPort = flood.port;
    let lastFrames = { at: Date.now(), n: rxPackets(floodPort) };
    let lastOwnCpu = { at: Date.now(), usage: process.cpuUsage() };
    const progress = (): void => {
      const s = memory.samples[memory.samples.length - 1];
      const frames = { at: Date.now(), n: rxPackets(floodPort) };
      const rate = ((frames.n - lastFrames.n) * 1000) / Math.max(1, frames.at - lastFrames.at);
      lastFrames = frames;
      const own = { at: Date.now(), usage: process.cpuUsage() };
      const ownCpu = (own.usage.user + own.usage.system - lastOwnCpu.usage.user - lastOwnCpu.usage.system) / 10 / Math.max(1, own.at - lastOwnCpu.at);
      lastOwnCpu = own;
      const packetIns = (storm?.packetIns ?? 0) + flappers.reduce((n, f) => n + f.packetIns, 0);
      stamp(`switch rss ${s ? mb(s.rss) : '?'} MB cpu ${s?.cpu?.toFixed(0) ?? '?'}%, soak cpu ${ownCpu.toFixed(0)}%; storm ${storm?.flowMods ?? 0} flow-mods, ${storm?.barriers ?? 0} barriers, ` +
        `${storm?.checks ?? 0} table checks, ${storm?.model.size ?? 0} entries; flaps ${flappers.reduce((n, f) => n + f.cycles, 0)}; ` +
        `packet-ins seen ${packetIns}; flood ${rate.toFixed(0)} frames/s; port cycles ${churn?.cycles ?? 0}; ` +
        `malformed messages ${malformed?.sent ?? 0}${stalled?.stalled ? '; stalled reader NOT reading' : ''}`);
    };
    while (!stopping && Date.now() < end) {
      await sleep(200);
      if (o.selfCheck && storm.caught.table !== null) {
        stopReason = 'self-check done';
        break;
      }
      for (const gen of [floodGen, badGen]) {
        const why = gen?.stopped();
        if (why) verdict.fail(`a traffic generator stopped early: ${why}`);
      }
      if (Date.now() - lastProgress >= 10_000) {
        lastProgress = Date.now();
        progress();
      }
    }
    interrupted = stopReason === 'interrupted';
    stopping = true;
    progress();
    framesIn = rxPackets(flood.port);
    badFramesIn = rxPackets(bad.port);
    stamp(`stopping: ${stopReason}`);
    await Promise.race([Promise.all(running), sleep(o.replyTimeoutSeconds * 1000 + 5000)]);
    if (!verdict.failed) await guard('final table check', storm.finish());
    clearInterval(sampler);
    sample();
    await stalled?.close();
    if (!verdict.failed && !interrupted) {
      // A clean stop is part of the run: SIGTERM, exit status 0.
      stopReason = 'done';
      theSwitch.child.kill('SIGTERM');
      const how = await Promise.race([theSwitch.exited, sleep(10_000).then(() => 'no exit within 10 s')]);
      if (how !== 'exit 0') verdict.fail(`the switch did not stop cleanly on SIGTERM (${how})`);
    }
    stopReason = 'done';
  } catch (err) {
    verdict.fail(`the soak could not run: ${(err as Error).message}`);
  } finally {
    stopping = true;
    stopReason = 'done';
    process.removeListener('SIGINT', onSigint);
    await rig.cleanup();
  }

  // ---- the report --------------------------------------------------------------------------------
  report('');
  report('== soak report ==');
  report(`length ${elapsed().toFixed(0)} s (asked ${o.minutes * 60} s)${interrupted ? ', INTERRUPTED' : ''}; seed ${o.seed}`);
  if (storm) {
    report(`flow-mod storm: ${storm.flowMods} FLOW_MODs in batches of ${o.batch}, ${storm.barriers} barriers (every reply in order), ` +
      `${storm.checks} table checks equal to the model, largest table ${storm.largestTable} entries, ${storm.reconnects} reconnects, ` +
      `${storm.portStatus} PORT_STATUS seen`);
  }
  report(`flapping controllers: ${flappers.map((f) => `#${flappers.indexOf(f) + 1} ${f.cycles} connections, ${f.flowMods} flow-mods, ${f.requests} replies`).join('; ') || 'none'}`);
  report(`packet-ins received (storm + flappers): ${(storm?.packetIns ?? 0) + flappers.reduce((n, f) => n + f.packetIns, 0)}; ` +
    `frames into the switch: ${framesIn} on port 1 (flood at ${o.floodPps}/s), ${badFramesIn} on port 2 (malformed frames at ${o.malformed ? o.badFramesPps : 0}/s)`);
  if (stalled) {
    const closed = stalled.stalls.filter((s) => s.closedBySwitch).length;
    report(`stalled reader: ${stalled.connections} connections from the switch, ${stalled.stalls.length} stalls of ${o.stallSeconds} s; ` +
      `the switch closed the connection in ${closed} of them` +
      `${closed > 0 ? ` (after ${stalled.stalls.filter((s) => s.closedAfter !== null).map((s) => `${(s.closedAfter as number).toFixed(1)} s`).join(', ')})` : ''}; ` +
      `switch RSS at the start -> end of each stall: ${stalled.stalls.map((s) => `${s.rssBefore === null ? '?' : mb(s.rssBefore)} -> ${s.rssAfter === null ? '?' : mb(s.rssAfter)} MB`).join(', ') || '-'}; ` +
      `read in the 2 s after each: ${stalled.stalls.map((s) => `${mb(s.drained)} MB`).join(', ') || '-'}`);
  } else {
    report('stalled reader: off (--no-stalled-reader)');
  }
  if (churn) report(`ports: ${churn.cycles} add/delete cycles (${churn.yankedUnderSwitch} with the link deleted under the switch first)`);
  if (malformed) {
    report(`malformed OpenFlow messages: ${malformed.sent}`);
    for (const [name, outcomes] of [...malformed.outcomes].sort()) {
      report(`  ${name}: ${[...outcomes].map(([k, v]) => `${v}x ${k}`).join(', ')}`);
    }
  }
  if (sw) {
    const notable = [...sw.counts].filter(([k]) => k.includes(': ')).sort((a, b) => b[1] - a[1]);
    report(`switch log lines: ${[...sw.counts].filter(([k]) => !k.includes(': ')).map(([k, v]) => `${v} ${k}`).join(', ')}`);
    for (const [k, v] of notable.slice(0, 12)) report(`  ${v}x ${k}`);
  }
  report('switch memory (RSS, /proc/PID/status VmRSS):');
  report(memory.table());
  let ok = !verdict.failed;
  let message: string;
  if (o.selfCheck) {
    const barrier = storm?.caught.barrier ?? null;
    const table = storm?.caught.table ?? null;
    ok = ok && barrier !== null && table !== null;
    message = ok
      ? `SELF-CHECK PASSED: the barrier check caught the misordered barriers (${barrier}) and the table check caught the wrong model (${table})`
      : `SELF-CHECK FAILED: ${verdict.failures[0] ?? (barrier === null ? 'the misordered barriers went unnoticed' : 'the wrong model went unnoticed')}`;
  } else {
    message = ok ? `SOAK PASSED: ${elapsed().toFixed(0)} s, no failure` : `SOAK FAILED: ${verdict.failures[0]}`;
  }
  if (verdict.failures.length > 1) {
    report(`later failures (${verdict.failures.length - 1}):`);
    for (const f of verdict.failures.slice(1, 10)) report(`  ${f.split('\n')[0]}`);
  }
  report(message);
  return { ok: ok && !interrupted, message, failures: verdict.failures, report: lines.join('\n'), interrupted };
}
