/**
 * `ovs-appctl stp/show [BRIDGE]`, `rstp/show [BRIDGE]`, `stp/tcn [BRIDGE]` and `rstp/tcn [BRIDGE]`
 * (answered "OK"), as Open vSwitch 3.1 answers them: every
 * bridge running that protocol without an argument, one named bridge with it; a bridge that does
 * not run it is the error "no such stp object" / "No such RSTP object" (OVS's texts). Registered by
 * whoever owns the bridges (flag mode: its one switch; the database mode: every bridge).
 */
import type { SpanningTree } from '../stp/tree.js';
import { UnixctlError, type UnixctlRegistry } from '../unixctl/index.js';

/** What the commands need of a bridge (lib/switch.ts's Switch). */
export interface SpanningTreeSource {
  spanningTree(): SpanningTree | null;
}

export function registerSpanningTreeCommands(registry: UnixctlRegistry, bridges: () => ReadonlyMap<string, SpanningTreeSource>): void {
  const show = (kind: 'stp' | 'rstp', missing: string) => ([name]: readonly string[]): string => {
    const trees = [...bridges()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, sw]) => sw.spanningTree())
      .filter((t): t is SpanningTree => t !== null && t.kind === kind);
    if (name === undefined) return trees.map((t) => t.show()).join('');
    const tree = trees.find((t) => t.name === name);
    if (!tree) throw new UnixctlError(missing);
    return tree.show();
  };
  registry.register('stp/show', '[bridge]', 0, 1, show('stp', 'no such stp object'));
  registry.register('rstp/show', '[bridge]', 0, 1, show('rstp', 'No such RSTP object'));
  const tcn = (kind: 'stp' | 'rstp', missing: string) => ([name]: readonly string[]): string => {
    const trees = [...bridges().values()].map((sw) => sw.spanningTree()).filter((t): t is SpanningTree => t !== null && t.kind === kind);
    const chosen = name === undefined ? trees : trees.filter((t) => t.name === name);
    if (name !== undefined && chosen.length === 0) throw new UnixctlError(missing);
    for (const t of chosen) t.detectTopologyChange();
    return 'OK\n';
  };
  registry.register('stp/tcn', '[bridge]', 0, 1, tcn('stp', 'no such stp object'));
  registry.register('rstp/tcn', '[bridge]', 0, 1, tcn('rstp', 'No such RSTP object'));
}
