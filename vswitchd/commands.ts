/**
 * The ovs-appctl commands about bridges, registered by the daemon that owns the bridges, with
 * ovs-vswitchd's names, arguments, output formats and error texts (OVS 3.1, checked against the
 * real ovs-appctl and ovs-vswitchd):
 *
 *   fdb/show BRIDGE            " port  VLAN  MAC                Age" and one line per entry
 *   fdb/flush [BRIDGE]         "table successfully flushed"
 *   fdb/stats-show BRIDGE      the MAC table's size, maximum and counters, OVS's lines exactly
 *   fdb/stats-clear [BRIDGE]   "statistics successfully cleared"
 *   ofproto/list               one bridge name per line
 *   bridge/dump-flows BRIDGE   every flow, hidden ones included (ofswitch has none), as OVS prints them
 *   dpif/show                  the datapath's lookup counters, then every bridge's ports
 *   ofproto/trace BRIDGE FLOW [PACKET]  where a packet would go and why (lib/control-socket.ts)
 *   ofswitch/drops [BRIDGE], ofswitch/drops-clear [BRIDGE]  the last frames dropped or punted (idem)
 *   bond/show, bond/list, lacp/show, lacp/show-stats, ... (lib/bond-commands.ts)
 *   stp/show [BRIDGE], rstp/show [BRIDGE]  the spanning tree (lib/spanning-tree-commands.ts)
 *   qos/show INTERFACE, qos/show-types INTERFACE  a port's QoS and its queues (lib/qos-commands.ts)
 *   tnl/ports/show [-v]         the tunnels' listening ports, all bridges (lib/tunnel-commands.ts)
 * and formatMemory, the daemon's memory/show: what the bridges cost (bridges, ports, rules) and the
 * process's memory.
 *
 * A bridge that does not exist is the error "no such bridge", as OVS answers.
 */
import { OFPP } from '../protocol/constants.js';
import { formatBridgeFlow } from '../protocol/flow-format.js';
import { registerDropsCommands, registerTraceCommand } from '../lib/control-socket.js';
import { registerBondCommands } from '../lib/bond-commands.js';
import { registerQosCommands } from '../lib/qos-commands.js';
import { registerSpanningTreeCommands } from '../lib/spanning-tree-commands.js';
import { registerTunnelCommands } from '../lib/tunnel-commands.js';
import type { Switch } from '../lib/switch.js';
import { UnixctlError, type UnixctlRegistry } from '../unixctl/index.js';

/** What the commands need of the daemon: its bridges by name. */
export interface BridgeDirectory {
  bridge(name: string): Switch | undefined;
  /** Every bridge, by name. */
  bridges(): ReadonlyMap<string, Switch>;
}

/** A port number as OVS prints it: the number, or LOCAL, CONTROLLER, ... */
export function portName(ofport: number): string {
  if (ofport < OFPP.MAX) return String(ofport);
  for (const [name, value] of Object.entries(OFPP)) if (value === ofport) return name;
  return String(ofport);
}

function need(dir: BridgeDirectory, name: string): Switch {
  const sw = dir.bridge(name);
  if (!sw) throw new UnixctlError('no such bridge');
  return sw;
}

/** `fdb/show`'s table: OVS's "%5s  %4d  MAC  %3d" per entry. */
export function formatFdb(sw: Switch): string {
  const lines = [' port  VLAN  MAC                Age'];
  for (const e of sw.macTable()) {
    lines.push(`${portName(e.port).padStart(5)}  ${String(e.vlan).padStart(4)}  ${e.mac}  ${String(e.age).padStart(3)}`);
  }
  return lines.join('\n') + '\n';
}

/** `fdb/stats-show`: ofproto_unixctl_fdb_stats_show's lines. */
export function formatFdbStats(name: string, sw: Switch): string {
  const s = sw.macTableStats();
  return (
    `Statistics for bridge "${name}":\n` +
    `  Current/maximum MAC entries in the table: ${s.current}/${s.max}\n` +
    `  Current static MAC entries in the table : ${s.staticEntries}\n` +
    `  Total number of learned MAC entries     : ${s.learned}\n` +
    `  Total number of expired MAC entries     : ${s.expired}\n` +
    `  Total number of evicted MAC entries     : ${s.evicted}\n` +
    `  Total number of port moved MAC entries  : ${s.moved}\n`
  );
}

/** `dpif/show`: one datapath line with the bridges' lookups, then each bridge and its ports. */
export function formatDpif(dir: BridgeDirectory): string {
  let hit = 0;
  let missed = 0;
  const body: string[] = [];
  for (const [name, sw] of [...dir.bridges()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const s = sw.lookupStats();
    hit += s.matched;
    missed += s.lookups - s.matched;
    body.push(`  ${name}:`);
    for (const p of sw.ports()) body.push(`    ${p.name} ${portName(p.ofport)}: (${p.type})`);
  }
  return [`ofswitch@ofswitch: hit:${hit} missed:${missed}`, ...body].join('\n') + '\n';
}

/** `memory/show`: OVS's one line of sorted key:value pairs. */
export function formatMemory(dir: BridgeDirectory): string {
  let ports = 0;
  let rules = 0;
  for (const sw of dir.bridges().values()) {
    ports += sw.ports().length;
    rules += sw.lookupStats().activeCount;
  }
  const mem = process.memoryUsage();
  const values: Record<string, number> = {
    bridges: dir.bridges().size,
    ports,
    rules,
    'rss-kB': Math.round(mem.rss / 1024),
    'heap-kB': Math.round(mem.heapUsed / 1024),
  };
  return (
    Object.keys(values)
      .sort()
      .map((k) => `${k}:${values[k]}`)
      .join(' ') + '\n'
  );
}

export function registerBridgeCommands(registry: UnixctlRegistry, dir: BridgeDirectory): void {
  registry.register('fdb/show', 'bridge', 1, 1, ([name = '']) => formatFdb(need(dir, name)));
  registry.register('fdb/flush', '[bridge]', 0, 1, ([name]) => {
    const targets = name === undefined ? [...dir.bridges().values()] : [need(dir, name)];
    for (const sw of targets) sw.flushMacTable();
    return 'table successfully flushed';
  });
  registry.register('fdb/stats-clear', '[bridge]', 0, 1, ([name]) => {
    const targets = name === undefined ? [...dir.bridges().values()] : [need(dir, name)];
    for (const sw of targets) sw.clearMacTableStats();
    return 'statistics successfully cleared';
  });
  registry.register('fdb/stats-show', 'bridge', 1, 1, ([name = '']) => formatFdbStats(name, need(dir, name)));
  registry.register('ofproto/list', '', 0, 0, () => {
    const names = [...dir.bridges().keys()].sort();
    return names.length ? names.join('\n') + '\n' : '';
  });
  registry.register('bridge/dump-flows', 'bridge', 1, 1, ([name = '']) => {
    const sw = need(dir, name);
    return sw.dumpFlows().map((f) => formatBridgeFlow(f)).join('\n') + '\n';
  });
  registry.register('dpif/show', '', 0, 0, () => formatDpif(dir));
  registerTraceCommand(registry, () => dir.bridges());
  registerDropsCommands(registry, () => dir.bridges());
  registerBondCommands(registry, () => dir.bridges());
  registerSpanningTreeCommands(registry, () => dir.bridges());
  registerQosCommands(registry, () => dir.bridges());
  registerTunnelCommands(registry);
}
