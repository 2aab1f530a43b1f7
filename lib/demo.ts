/**
 * The demo: what `ofswitch` (and so `npm start`) runs when given no options at all. Three test
 * hosts, each a network namespace holding `eth0` with an address in 10.0.0.0/24, wired by veth
 * pairs to the switch, which runs in standalone mode (the NORMAL learning bridge) and listens for
 * ovs-ofctl on the default ptcp:6634:127.0.0.1. Everything the demo creates is removed when the
 * switch stops, and anything a previous demo left behind is removed before it starts.
 *
 * The hosts' addresses live only inside their namespaces; nothing touches the machine's own
 * interfaces.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface DemoHost {
  readonly name: string;
  /** The namespace holding the host's eth0. */
  readonly namespace: string;
  /** The veth end left in the root namespace: the switch's port. */
  readonly port: string;
  readonly ip: string;
}

export const DEMO_HOSTS: readonly DemoHost[] = [1, 2, 3].map((i) => ({
  name: `h${i}`,
  namespace: `ofdemo-h${i}`,
  port: `ofdemo-p${i}`,
  ip: `10.0.0.${i}`,
}));

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quietly(run: () => void): void {
  try {
    run();
  } catch {
    /* already gone */
  }
}

/**
 * Removes the demo's namespaces and links (those that exist: the stop and the exit hook both call
 * this, and each `ip` command costs a process, which on a loaded machine made the stop slow).
 */
export function removeDemoHosts(hosts: readonly DemoHost[] = DEMO_HOSTS): void {
  for (const h of hosts) {
    if (existsSync(`/sys/class/net/${h.port}`)) quietly(() => ip(['link', 'del', h.port]));
    if (existsSync(`/run/netns/${h.namespace}`)) quietly(() => ip(['netns', 'del', h.namespace]));
  }
}

/** Creates the three hosts; throws (after removing what it made) when it cannot. */
export function createDemoHosts(hosts: readonly DemoHost[] = DEMO_HOSTS): readonly DemoHost[] {
  removeDemoHosts(hosts);
  try {
    for (const h of hosts) {
      ip(['netns', 'add', h.namespace]);
      ip(['link', 'add', h.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.namespace]);
      const inHost = (args: readonly string[]): void => ip(['netns', 'exec', h.namespace, 'ip', ...args]);
      inHost(['link', 'set', 'lo', 'up']);
      inHost(['addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      inHost(['link', 'set', 'eth0', 'up']);
      ip(['link', 'set', h.port, 'up']);
    }
  } catch (err) {
    removeDemoHosts(hosts);
    const detail = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot create the demo's test hosts (root and iproute2 are needed)${detail ? `: ${detail}` : ''}`);
  }
  return hosts;
}

/** The lines printed once the demo switch runs. */
export function demoHints(hosts: readonly DemoHost[], ofctlTarget: string): string {
  const [a, b] = hosts;
  return [
    '',
    `ofswitch demo: ${hosts.length} test hosts on a standalone switch (a learning bridge), ports 1-${hosts.length}`,
    ...hosts.map((h, i) => `  port ${i + 1}  ${h.port}  <->  ${h.name}: eth0 ${h.ip} in namespace ${h.namespace}`),
    'Try, in another terminal:',
    `  ip netns exec ${a?.namespace} ping -c 3 ${b?.ip}`,
    `  ovs-ofctl show ${ofctlTarget}`,
    `  ovs-ofctl dump-flows ${ofctlTarget}`,
    `  ovs-ofctl add-flow ${ofctlTarget} priority=100,icmp,actions=drop    (then ping again)`,
    'Ctrl-C stops the switch and removes the hosts.',
    '',
  ].join('\n');
}
