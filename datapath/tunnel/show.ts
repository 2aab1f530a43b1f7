/**
 * `ovs-appctl tnl/ports/show [-v]`: the tunnels' listening ports, as Open vSwitch 3.1 prints them
 * (lib/tnl-ports.c tnl_port_show). OVS has one datapath port per tunnel type and UDP port
 * (netdev-vport.c's dpif port names: `vxlan_sys_PORT`, `genev_sys_PORT`, `gre_sys`) that every
 * tunnel port of that type and UDP port shares; ofswitch's counterpart is its endpoints
 * (underlay.ts: one socket per kind, local address and UDP port). So:
 *
 *   Listening ports:
 *   genev_sys_6081 (6081) ref_cnt=2      one line per name, in the order the first port of each
 *   gre_sys (47) ref_cnt=1                came, ref_cnt the tunnel ports that use it (all bridges)
 *
 * and with `-v`, instead, one line per name and local address a packet for it is taken on:
 *
 *   genev_sys_6081 (6081) : eth(dst=MAC),eth_type(0x0800),ipv4(dst=ADDR,proto=17,frag=no),udp(dst=6081)
 *
 * for every IPv4 address of the host's interfaces other than loopback (OVS: of its own ports,
 * which carry its underlay addresses), or only local_ip's when the endpoint is bound to one.
 * Deliberate differences: the number in parentheses is OVS's datapath port number; ofswitch has no
 * datapath ports and prints the UDP port, or GRE's IP protocol (47), which is what identifies the
 * endpoint. `-v` lists IPv4 only (the underlay is IPv4) and in ofswitch's own order.
 */
import { networkInterfaces } from 'node:os';
import type { TunnelKind } from './codec.js';
import { IPPROTO_GRE, numberToIpv4 } from './config.js';
import { Endpoint } from './underlay.js';

const IPPROTO_UDP = 17;

/** OVS's datapath port name for tunnels of `kind` on UDP port `dstPort` (netdev_vport_get_dpif_port). */
export function dpifPortName(kind: TunnelKind, dstPort: number): string {
  if (kind === 'gre') return 'gre_sys';
  return `${kind === 'vxlan' ? 'vxlan' : 'genev'}_sys_${dstPort}`;
}

interface Listening {
  readonly name: string;
  readonly kind: TunnelKind;
  readonly dstPort: number;
  refCnt: number;
  /** Local addresses the endpoints are bound to (0: any). */
  readonly locals: Set<number>;
}

function listening(endpoints: readonly Endpoint[]): Listening[] {
  const byName = new Map<string, Listening>();
  for (const e of endpoints) {
    const name = dpifPortName(e.kind, e.dstPort);
    let l = byName.get(name);
    if (l === undefined) byName.set(name, (l = { name, kind: e.kind, dstPort: e.dstPort, refCnt: 0, locals: new Set() }));
    l.refCnt += e.portCount;
    l.locals.add(e.localIp);
  }
  return [...byName.values()];
}

/** The host's non-loopback IPv4 addresses with their interface's MAC, in interface order. */
function hostAddresses(): { address: string; mac: string }[] {
  const out: { address: string; mac: string }[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push({ address: a.address, mac: a.mac });
  }
  return out;
}

/** What `tnl/ports/show` (`verbose`: `-v`) prints for the endpoints open now (every one by default). */
export function formatTunnelPorts(verbose: boolean, endpoints: readonly Endpoint[] = Endpoint.all()): string {
  const lines = ['Listening ports:'];
  const groups = listening(endpoints);
  const number = (l: Listening): number => (l.kind === 'gre' ? IPPROTO_GRE : l.dstPort);
  if (!verbose) {
    for (const l of groups) lines.push(`${l.name} (${number(l)}) ref_cnt=${l.refCnt}`);
    return lines.join('\n') + '\n';
  }
  const addresses = hostAddresses();
  for (const l of groups) {
    const any = l.locals.has(0);
    const bound = new Set([...l.locals].map(numberToIpv4));
    for (const { address, mac } of addresses) {
      if (!any && !bound.has(address)) continue;
      const l4 = l.kind === 'gre' ? `proto=${IPPROTO_GRE},frag=no)` : `proto=${IPPROTO_UDP},frag=no),udp(dst=${l.dstPort})`;
      lines.push(`${l.name} (${number(l)}) : eth(dst=${mac}),eth_type(0x0800),ipv4(dst=${address},${l4}`);
    }
  }
  return lines.join('\n') + '\n';
}
