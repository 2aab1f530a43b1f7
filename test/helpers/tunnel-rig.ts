/**
 * Namespaces for tunnel tests: ofswitch's underlay never touches the machine's own addresses.
 *
 *   host h1 (eth0) --veth-- [ namespace `sw`: ofswitch, its UDP/raw sockets ] --veth (underlay)-- [ far end ]
 *
 * `underlay(t, tag, far)` makes namespace `sw` and a veth pair from it to the far end's namespace
 * (made here, or one given: Open vSwitch's), with 10.N.0.1/24 on ofswitch's side and
 * 10.N.0.2/24 on the far side unless the far end takes its address elsewhere (OVS: on its bridge).
 * `hostOn(t, tag, ns, ip, mtu)` adds a host namespace whose veth peer is moved into `ns`, for the
 * switch there to open. Offloads are off on every veth (a partial checksum would otherwise travel
 * inside the tunnel, which nothing completes). Everything goes with the namespaces at teardown.
 * `ovsUnderlay(t, tag, net)` is the same underlay with Open vSwitch (userspace) as the far end, set
 * up as OVS's userspace-tunneling howto says: bridge br-phy holds the underlay veth and has the far
 * address on its internal port, so OVS routes and resolves the next hop itself (and only OVS, as
 * br-phy, answers ARP for that address).
 */
import { addHost, createNamespace, createVethPair, disableOffloads, moveToNamespace, run, setAddress, setLinkUp, uniqueName, type Teardownable } from './netns.js';
import { startOvsUserspace, type OvsUserspace } from './ovs-reference.js';

export interface Underlay {
  /** ofswitch's namespace, its underlay interface and address. */
  readonly sw: string;
  readonly swIf: string;
  readonly swIp: string;
  /** The far end's namespace, interface and address (the address may be unassigned: see `farAddress`). */
  readonly far: string;
  readonly farIf: string;
  readonly farIp: string;
}

/** The underlay between a new namespace for ofswitch and `far` (a new namespace when not given). */
export async function underlay(t: Teardownable, tag: string, net: number, options: { far?: string; farAddress?: boolean } = {}): Promise<Underlay> {
  const sw = await createNamespace(`${tag}s`, t);
  const far = options.far ?? (await createNamespace(`${tag}f`, t));
  const [swIf, farIf] = [uniqueName(`${tag}u`), uniqueName(`${tag}v`)];
  await createVethPair(swIf, farIf, t);
  await moveToNamespace(swIf, sw);
  await moveToNamespace(farIf, far);
  const [swIp, farIp] = [`10.${net}.0.1`, `10.${net}.0.2`];
  for (const [ns, dev] of [[sw, swIf], [far, farIf]] as const) {
    await run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], ns);
    await disableOffloads(dev, ns);
    await setLinkUp(dev, ns);
  }
  await setAddress(swIf, `${swIp}/24`, sw);
  if (options.farAddress !== false) await setAddress(farIf, `${farIp}/24`, far);
  return { sw, swIf, swIp, far, farIf, farIp };
}

/** Open vSwitch userspace in its own namespace as the far end of a new underlay (see above). */
export async function ovsUnderlay(t: Teardownable, tag: string, net: number): Promise<{ ovs: OvsUserspace; u: Underlay }> {
  const ovs = await startOvsUserspace(t, { tag: `${tag}o` });
  const u = await underlay(t, tag, net, { far: ovs.ns, farAddress: false });
  // The kernel of OVS's namespace must not answer ARP for br-phy's address on the veth OVS holds
  // (arp_ignore=0 answers on any interface): ofswitch's packets would then go to the veth's own
  // MAC, which OVS does not take as its tunnels' (it floods them to br-phy, whose kernel answers
  // "protocol unreachable").
  await run('sysctl', ['-qw', `net.ipv4.conf.${u.farIf}.arp_ignore=1`], ovs.ns);
  await ovs.vsctl(['add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', u.farIf]);
  await run('ip', ['addr', 'add', `${u.farIp}/24`, 'dev', 'br-phy'], ovs.ns);
  await run('ip', ['link', 'set', 'br-phy', 'up'], ovs.ns);
  return { ovs, u };
}

/** A host whose interface's peer is in `ns` (named as returned), up, with `ip` and `mtu`. */
export async function hostOn(t: Teardownable, tag: string, ns: string, ip: string, mtu: number): Promise<{ ns: string; port: string; ip: string }> {
  const h = await addHost(t, tag, { ip });
  await run('ip', ['link', 'set', 'eth0', 'mtu', String(mtu)], h.ns);
  await moveToNamespace(h.port, ns);
  await disableOffloads(h.port, ns);
  await setLinkUp(h.port, ns);
  return { ns: h.ns, port: h.port, ip: h.ip };
}

/** iperf3's bytes received from `iperf3 -J` output (the receiver's sum), 0 when it has none. */
export function iperfReceivedBytes(json: string): number {
  try {
    const r = JSON.parse(json) as { end?: { sum_received?: { bytes?: number } } };
    return r.end?.sum_received?.bytes ?? 0;
  } catch {
    return 0;
  }
}

/** Waits (up to 5 s) until something listens on TCP `port` in namespace `ns`. */
export async function waitTcpListen(ns: string, port: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if ((await run('ss', ['-Hltn', `sport = :${port}`], ns)).trim() !== '') return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
