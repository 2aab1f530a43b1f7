// Match normalisation and the exact-match priority rule, checked against a real Open vSwitch:
// each raw OpenFlow 1.0 match goes to OVS in a FLOW_MOD (over its management socket), OVS's
// OFPST_FLOW reply gives back the match and priority it stored, and the flow table must store the
// same. FLOW_MOD and flow stats are packed and read by hand here: this test does not depend on the
// codec.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { OFPAT, OFPFC, OFPFW, OFPP, OFPT, OFPTT } from '../../protocol/constants.js';
import type { FlowMod, Match } from '../../protocol/types.js';
import { FlowTable } from '../../flowtable/index.js';
import { macToWords, wordsToMac } from '../../flowtable/flow-key.js';
import { startOvsReference } from '../helpers/ovs-reference.js';

const ALL = OFPFW.ALL;
const base: Match = {
  wildcards: ALL, inPort: 3, dlSrc: '0A:00:00:00:00:01', dlDst: '0a:00:00:00:00:02', dlVlan: 0x0123, dlVlanPcp: 5,
  dlType: 0x0800, nwTos: 0xbb, nwProto: 6, nwSrc: 0x0a0b0c0d, nwDst: 0xc0a80107, tpSrc: 1234, tpDst: 80,
};
const on = (...bits: number[]): number => bits.reduce((w, b) => w & ~b, ALL);
const nw = (w: number, src: number, dst: number): number =>
  (w & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK) | (src << OFPFW.NW_SRC_SHIFT) | (dst << OFPFW.NW_DST_SHIFT);

/** Raw matches with the cases the normalisation rules name. */
const cases: Match[] = [
  { ...base, wildcards: ALL },
  { ...base, wildcards: 0x003820ff },                                             // ovs-ofctl's "any"
  { ...base, wildcards: nw(ALL, 63, 63) },                                        // os-ken's counts of 63
  { ...base, wildcards: nw(on(OFPFW.DL_TYPE), 8, 0) },                            // IPv4 prefixes
  { ...base, wildcards: nw(on(OFPFW.DL_TYPE), 24, 33) },
  { ...base, wildcards: nw(on(), 0, 0) },                                         // addresses without dl_type
  { ...base, wildcards: on(OFPFW.DL_TYPE, OFPFW.NW_TOS, OFPFW.NW_PROTO) },        // tos low bits cut
  { ...base, wildcards: on(OFPFW.NW_TOS, OFPFW.NW_PROTO, OFPFW.TP_SRC, OFPFW.TP_DST) }, // no dl_type
  { ...base, wildcards: on(OFPFW.DL_TYPE, OFPFW.TP_SRC, OFPFW.TP_DST) },          // ports without proto
  { ...base, wildcards: on(OFPFW.DL_TYPE, OFPFW.NW_PROTO, OFPFW.TP_SRC, OFPFW.TP_DST) },
  { ...base, wildcards: on(OFPFW.DL_TYPE, OFPFW.NW_PROTO, OFPFW.TP_DST), nwProto: 1, tpDst: 3 }, // ICMP code
  { ...base, wildcards: on(OFPFW.DL_TYPE, OFPFW.NW_PROTO, OFPFW.TP_SRC), nwProto: 47 },          // GRE: no ports
  { ...base, wildcards: nw(on(OFPFW.DL_TYPE, OFPFW.NW_PROTO, OFPFW.NW_TOS), 0, 16), dlType: 0x0806, nwProto: 2 }, // ARP
  { ...base, wildcards: on(OFPFW.DL_TYPE, OFPFW.NW_PROTO, OFPFW.NW_TOS, OFPFW.TP_SRC), dlType: 0x86dd, nwProto: 17 }, // IPv6
  { ...base, wildcards: on(OFPFW.DL_TYPE, OFPFW.NW_PROTO, OFPFW.TP_DST), dlType: 0x86dd, nwProto: 58, tpDst: 135 },
  { ...base, wildcards: on(OFPFW.DL_TYPE, OFPFW.NW_PROTO), dlType: 0x88cc },      // proto without IP
  { ...base, wildcards: on(OFPFW.DL_VLAN), dlVlan: 0xffff },                      // untagged, pcp wildcarded
  { ...base, wildcards: on(OFPFW.DL_VLAN, OFPFW.DL_VLAN_PCP), dlVlan: 0xffff },   // untagged, pcp 5 given
  { ...base, wildcards: on(OFPFW.DL_VLAN_PCP) },                                  // pcp only
  { ...base, wildcards: on(OFPFW.DL_VLAN), dlVlan: 0x1123 },                      // VID beyond 12 bits
  { ...base, wildcards: on(OFPFW.IN_PORT, OFPFW.DL_SRC, OFPFW.DL_DST) },
  { ...base, wildcards: ALL & ~OFPFW.IN_PORT | 0xffc00000 },                      // unused high bits set
  { ...base, wildcards: 0 },                                                      // exact: priority 65535
  { ...base, wildcards: 0, dlType: 0x0806, nwProto: 1, inPort: 4 },               // exact ARP
];

function flowModBytes(m: Match, priority: number, cookie: number): Buffer {
  const b = Buffer.alloc(72 + 8);
  b.writeUInt8(1, 0);
  b.writeUInt8(OFPT.FLOW_MOD, 1);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt32BE(cookie + 100, 4);
  b.writeUInt32BE(m.wildcards >>> 0, 8);
  b.writeUInt16BE(m.inPort, 12);
  const mac = (s: string, off: number): void => {
    const [hi, lo] = macToWords(s.toLowerCase());
    b.writeUInt16BE(hi, off);
    b.writeUInt32BE(lo, off + 2);
  };
  mac(m.dlSrc, 14);
  mac(m.dlDst, 20);
  b.writeUInt16BE(m.dlVlan, 26);
  b.writeUInt8(m.dlVlanPcp, 28);
  b.writeUInt16BE(m.dlType, 30);
  b.writeUInt8(m.nwTos, 32);
  b.writeUInt8(m.nwProto, 33);
  b.writeUInt32BE(m.nwSrc >>> 0, 36);
  b.writeUInt32BE(m.nwDst >>> 0, 40);
  b.writeUInt16BE(m.tpSrc, 44);
  b.writeUInt16BE(m.tpDst, 46);
  b.writeBigUInt64BE(BigInt(cookie), 48);
  b.writeUInt16BE(OFPFC.ADD, 56);
  b.writeUInt16BE(priority, 62);
  b.writeUInt32BE(0xffffffff, 64);
  b.writeUInt16BE(OFPP.NONE, 68);
  b.writeUInt16BE(OFPAT.OUTPUT, 72);
  b.writeUInt16BE(8, 74);
  b.writeUInt16BE(1, 76);
  return b;
}

function readMatch(b: Buffer, o: number): Match {
  const mac = (off: number): string => wordsToMac(b.readUInt16BE(off), b.readUInt32BE(off + 2));
  return {
    wildcards: b.readUInt32BE(o), inPort: b.readUInt16BE(o + 4), dlSrc: mac(o + 6), dlDst: mac(o + 12),
    dlVlan: b.readUInt16BE(o + 18), dlVlanPcp: b.readUInt8(o + 20), dlType: b.readUInt16BE(o + 22),
    nwTos: b.readUInt8(o + 24), nwProto: b.readUInt8(o + 25), nwSrc: b.readUInt32BE(o + 28),
    nwDst: b.readUInt32BE(o + 32), tpSrc: b.readUInt16BE(o + 36), tpDst: b.readUInt16BE(o + 38),
  };
}

/** Sends the FLOW_MODs, then reads back OVS's flow statistics: cookie -> [match, priority]. */
async function ovsStores(path: string, mods: Buffer[]): Promise<Map<number, [Match, number]>> {
  const sock: Socket = connect(path);
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  const hello = Buffer.from('0100000800000001', 'hex');
  const statsReq = Buffer.alloc(12 + 44);
  statsReq.writeUInt8(1, 0);
  statsReq.writeUInt8(OFPT.STATS_REQUEST, 1);
  statsReq.writeUInt16BE(statsReq.length, 2);
  statsReq.writeUInt32BE(7, 4);
  statsReq.writeUInt16BE(1, 8); // OFPST_FLOW
  statsReq.writeUInt32BE(ALL, 12);
  statsReq.writeUInt8(OFPTT.ALL, 52);
  statsReq.writeUInt16BE(OFPP.NONE, 54);
  sock.write(Buffer.concat([hello, ...mods, statsReq]));
  const out = new Map<number, [Match, number]>();
  let buf = Buffer.alloc(0);
  await new Promise<void>((res, rej) => {
    sock.on('error', rej);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
        const len = buf.readUInt16BE(2);
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        if (msg[1] === OFPT.ERROR) rej(new Error(`OVS error ${msg.toString('hex')}`));
        if (msg[1] !== OFPT.STATS_REPLY) continue;
        for (let o = 12; o + 88 <= msg.length; o += msg.readUInt16BE(o)) {
          out.set(Number(msg.readBigUInt64BE(o + 64)), [readMatch(msg, o + 4), msg.readUInt16BE(o + 52)]);
        }
        if ((msg.readUInt16BE(10) & 1) === 0) res();
      }
    });
  });
  sock.destroy();
  return out;
}

t.test('the flow table stores matches and priorities exactly as Open vSwitch does', async (t) => {
  const ovs = await startOvsReference(t, { tag: 'ftn', listenPort: 0 });
  const stored = await ovsStores(ovs.mgmt.replace(/^unix:/, ''), cases.map((m, i) => flowModBytes(m, 100 + i, i)));
  t.equal(stored.size, cases.length, 'OVS kept every flow');
  const ft = new FlowTable();
  cases.forEach((match, i) => {
    const mod: FlowMod = {
      type: OFPT.FLOW_MOD, version: 1, xid: 0, match, cookie: BigInt(i), command: OFPFC.ADD, idleTimeout: 0,
      hardTimeout: 0, priority: 100 + i, bufferId: 0xffffffff, outPort: OFPP.NONE, flags: 0,
      actions: [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }],
    };
    t.ok(ft.flowMod(mod).ok);
  });
  const mine = new Map(ft.flowStats({ match: { ...base, wildcards: ALL }, tableId: OFPTT.ALL, outPort: OFPP.NONE })
    .map((s) => [Number(s.cookie), [s.match, s.priority]]));
  cases.forEach((m, i) => {
    t.same(mine.get(i), stored.get(i), `case ${i}: wildcards 0x${m.wildcards.toString(16)} dl_type 0x${m.dlType.toString(16)}`);
  });
});
