// Differential test: the flow table, with and without its microflow cache, against the linear
// reference model, over random tables, packets and interleavings of add, modify, delete, expiry.
import t, { type Test } from 'tap';
import { OFPAT, OFPFC, OFPFW, OFPP, OFPT, OFP_VLAN_NONE } from '../../protocol/constants.js';
import type { Action, FlowMod, Match } from '../../protocol/types.js';
import { FlowTable } from '../../flowtable/flow-table.js';
import type { FlowEntry } from '../../flowtable/flow-entry.js';
import { packFlowKey, type FlowFields } from '../../flowtable/flow-key.js';
import { ReferenceTable, type RefRule } from './reference-table.js';
import { prng } from '../../bench/classbench.js';


function gen(seed: number) {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number): boolean => rnd() < p;
  const macs = ['00:00:00:00:00:01', '00:00:00:00:00:02', 'aa:bb:cc:dd:ee:ff'];
  const addrs = [0x0a000001, 0x0a000102, 0x0a010203, 0xc0a80001, 0xc0a80101, 0x80000001];
  const types = [0x0800, 0x0800, 0x0806, 0x86dd, 0x88cc];
  const protos = [1, 6, 17, 6];
  const ports = [22, 80, 443, 53];
  const vlans = [OFP_VLAN_NONE, 10, 20];

  const packet = (): FlowFields => {
    const dlVlan = pick(vlans);
    return {
      inPort: pick([1, 2, 3]), dlVlan, dlVlanPcp: dlVlan === OFP_VLAN_NONE ? 0 : pick([0, 1, 2]),
      dlSrc: pick(macs), dlDst: pick(macs), dlType: pick(types), nwTos: pick([0, 0x10, 0xb8]),
      nwProto: pick(protos), nwSrc: (pick(addrs) ^ (chance(0.5) ? Math.floor(rnd() * 256) : 0)) >>> 0,
      nwDst: pick(addrs), tpSrc: pick(ports), tpDst: pick(ports),
    };
  };
  const match = (): Match => {
    if (chance(0.05)) {
      const p = packet();
      return { wildcards: 0, ...p }; // exact-match request
    }
    let w = 0;
    for (const bit of [OFPFW.IN_PORT, OFPFW.DL_VLAN, OFPFW.DL_SRC, OFPFW.DL_DST, OFPFW.DL_TYPE, OFPFW.NW_PROTO,
      OFPFW.TP_SRC, OFPFW.TP_DST, OFPFW.DL_VLAN_PCP, OFPFW.NW_TOS]) if (chance(0.6)) w |= bit;
    w |= pick([0, 8, 16, 24, 31, 32, 63]) << OFPFW.NW_SRC_SHIFT;
    w |= pick([0, 8, 24, 32, 40]) << OFPFW.NW_DST_SHIFT;
    return { wildcards: w, ...packet() };
  };
  const actions = (): Action[] => [{ type: OFPAT.OUTPUT, port: pick([1, 2, 3, OFPP.CONTROLLER]), maxLen: 128 }];
  const flowMod = (command: number, over: Partial<FlowMod> = {}): FlowMod => ({
    type: OFPT.FLOW_MOD, version: 1, xid: 0, match: match(), cookie: BigInt(Math.floor(rnd() * 1000)), command,
    idleTimeout: chance(0.2) ? pick([1, 2]) : 0, hardTimeout: chance(0.2) ? pick([1, 3]) : 0,
    priority: pick([0, 1, 100, 0x8000, 0xffff]), bufferId: 0xffffffff,
    outPort: chance(0.7) ? OFPP.NONE : pick([1, 2, 3]), flags: 0, actions: actions(), ...over,
  });
  return { rnd, pick, chance, packet, flowMod };
}

const ident = (m: Match, priority: number): string => `${priority} ${JSON.stringify(m)}`;
const entryId = (e: FlowEntry | null): string | null => (e === null ? null : ident(e.match, e.priority));
const ruleId = (r: RefRule | null): string | null => (r === null ? null : ident(r.match, r.priority));

function run(t: Test, seed: number, steps: number): void {
  const g = gen(seed);
  let now = 1000;
  const clock = (): number => now;
  const cached = new FlowTable({ now: clock, cacheSlots: 256 });
  const plain = new FlowTable({ now: clock, cacheSlots: 0 });
  const ref = new ReferenceTable();
  ref.now = now;
  const packets: FlowFields[] = Array.from({ length: 40 }, () => g.packet());
  const key = new Uint32Array(9);
  let mismatches = 0;
  let hits = 0;
  for (let step = 0; step < steps; step++) {
    const r = g.rnd();
    if (r < 0.35) {
      const mod = g.flowMod(OFPFC.ADD);
      cached.flowMod(mod);
      plain.flowMod(mod);
      ref.flowMod(mod);
    } else if (r < 0.45) {
      const mod = g.flowMod(g.pick([OFPFC.MODIFY, OFPFC.MODIFY_STRICT]));
      cached.flowMod(mod);
      plain.flowMod(mod);
      ref.flowMod(mod);
    } else if (r < 0.55) {
      const mod = g.flowMod(g.pick([OFPFC.DELETE, OFPFC.DELETE_STRICT]));
      const a = cached.flowMod(mod);
      const b = plain.flowMod(mod);
      const gone = ref.flowMod(mod).map(ruleId).sort();
      const ids = (x: typeof a): (string | null)[] => (x.ok ? x.removed.map((f) => entryId(f.entry)).sort() : []);
      if (JSON.stringify(ids(a)) !== JSON.stringify(gone) || JSON.stringify(ids(b)) !== JSON.stringify(gone)) mismatches++;
    } else if (r < 0.6) {
      now += g.pick([100, 500, 1000, 2500]);
      ref.now = now;
      const a = cached.expire().map((f) => `${f.reason} ${entryId(f.entry)}`).sort();
      const b = plain.expire().map((f) => `${f.reason} ${entryId(f.entry)}`).sort();
      const c = ref.expire().map(([x, reason]) => `${reason} ${ruleId(x)}`).sort();
      if (JSON.stringify(a) !== JSON.stringify(c) || JSON.stringify(b) !== JSON.stringify(c)) mismatches++;
    } else {
      // A burst of lookups (the cache sees repeats).
      for (let i = 0; i < 8; i++) {
        const p = g.chance(0.2) ? g.packet() : g.pick(packets);
        packFlowKey(p, key);
        const len = 60 + i;
        const a = cached.lookup(key, len);
        const b = plain.lookup(key, len);
        const c = ref.lookup(p, len);
        if (c !== null) hits++;
        if (entryId(a) !== ruleId(c) || entryId(b) !== ruleId(c)) mismatches++;
        else if (c !== null && (a!.packetCount !== c.packets || b!.byteCount !== c.bytes ||
          JSON.stringify(a!.actions) !== JSON.stringify(c.actions) || a!.cookie !== c.cookie)) mismatches++;
      }
    }
    if (cached.size !== ref.rules.length || plain.size !== ref.rules.length) mismatches++;
  }
  t.equal(mismatches, 0, `seed ${seed}: no difference from the reference`);
  t.ok(hits > steps / 10, `seed ${seed}: lookups hit entries (${hits})`);
  const stats = cached.flowStats({ match: { ...packets[0]!, wildcards: OFPFW.ALL }, tableId: 0xff, outPort: OFPP.NONE });
  t.equal(stats.length, ref.rules.length, 'flow stats list every entry');
}

t.test('random interleavings agree with the reference', async (t) => {
  for (let seed = 1; seed <= 12; seed++) run(t, seed, 1500);
});

t.test('a large table with many masks agrees with the reference', async (t) => {
  run(t, 99, 6000);
});
