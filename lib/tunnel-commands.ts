/**
 * The ovs-appctl commands about tunnels, with Open vSwitch 3.1's names and output:
 *
 *   tnl/ports/show [-v]   the tunnels' listening ports with their reference counts, or (-v) the
 *                         local addresses each takes packets on (datapath/tunnel/show.ts)
 *
 * Tunnel endpoints are process-wide (every bridge's tunnel ports share them, as OVS's tnl-ports
 * are), so the command takes no bridge. As OVS, "-v" in any case is the verbose listing and any
 * other argument is ignored.
 */
import { formatTunnelPorts } from '../datapath/tunnel/show.js';
import type { UnixctlRegistry } from '../unixctl/index.js';

export function registerTunnelCommands(registry: UnixctlRegistry): void {
  registry.register('tnl/ports/show', '-v', 0, 1, ([flag]) => formatTunnelPorts(flag?.toLowerCase() === '-v'));
}
