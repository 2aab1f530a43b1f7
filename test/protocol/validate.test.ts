import t from 'tap';
import {
  OFPAT,
  OFPBAC,
  OFPBRC,
  OFPET,
  OFPP,
  OFPST,
  OFPT,
  OfpError,
  encodeMessage,
  validateMessage,
  type Action,
  type OfpMessage,
} from '../../protocol/index.js';

const match = {
  wildcards: 0x3fffff, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00', dlVlan: 0, dlVlanPcp: 0,
  dlType: 0, nwTos: 0, nwProto: 0, nwSrc: 0, nwDst: 0, tpSrc: 0, tpDst: 0,
};
const flowMod = (actions: Action[]): OfpMessage => ({
  version: 1, type: OFPT.FLOW_MOD, xid: 9, match, cookie: 0n, command: 0, idleTimeout: 0, hardTimeout: 0,
  priority: 1, bufferId: 0xffffffff, outPort: OFPP.NONE, flags: 0, actions,
});
const packetOut = (actions: Action[]): OfpMessage => ({
  version: 1, type: OFPT.PACKET_OUT, xid: 10, bufferId: 0xffffffff, inPort: OFPP.NONE, actions, data: new Uint8Array(14),
});
const output = (port: number): Action => ({ type: OFPAT.OUTPUT, port, maxLen: 0 });
const codeOf = (m: OfpMessage): string | null => {
  const e = validateMessage(m);
  return e ? `${e.errorType}/${e.code}` : null;
};
const BAD_OUT_PORT = `${OFPET.BAD_ACTION}/${OFPBAC.BAD_OUT_PORT}`;
const BAD_ARGUMENT = `${OFPET.BAD_ACTION}/${OFPBAC.BAD_ARGUMENT}`;

t.test('vendor messages, vendor stats and vendor actions are refused', async (t) => {
  const vendor: OfpMessage = { version: 1, type: OFPT.VENDOR, xid: 3, vendor: 0x2320, data: new Uint8Array(8) };
  t.equal(codeOf(vendor), `${OFPET.BAD_REQUEST}/${OFPBRC.BAD_VENDOR}`);
  const stats: OfpMessage = { version: 1, type: OFPT.STATS_REQUEST, xid: 4, flags: 0, statsType: OFPST.VENDOR, vendor: 0x2320, body: new Uint8Array() };
  t.equal(codeOf(stats), `${OFPET.BAD_REQUEST}/${OFPBRC.BAD_VENDOR}`);
  const vendorAction: Action = { type: OFPAT.VENDOR, vendor: 0x2320, body: new Uint8Array(8) };
  t.equal(codeOf(flowMod([output(1), vendorAction])), `${OFPET.BAD_ACTION}/${OFPBAC.BAD_VENDOR}`);
  t.equal(codeOf(packetOut([vendorAction])), `${OFPET.BAD_ACTION}/${OFPBAC.BAD_VENDOR}`);
});

t.test('output ports', async (t) => {
  for (const port of [0, 1, 0xfeff, OFPP.IN_PORT, OFPP.NORMAL, OFPP.FLOOD, OFPP.ALL, OFPP.CONTROLLER, OFPP.LOCAL]) {
    t.equal(codeOf(flowMod([output(port)])), null, `flow mod output to 0x${port.toString(16)}`);
  }
  for (const port of [OFPP.NONE, 0xff00, 0xff01, 0xfff7]) {
    t.equal(codeOf(flowMod([output(port)])), BAD_OUT_PORT, `flow mod output to 0x${port.toString(16)}`);
    t.equal(codeOf(packetOut([output(port)])), BAD_OUT_PORT, `packet out output to 0x${port.toString(16)}`);
  }
  t.equal(codeOf(flowMod([output(OFPP.TABLE)])), BAD_OUT_PORT, 'TABLE in a flow');
  t.equal(codeOf(packetOut([output(OFPP.TABLE)])), null, 'TABLE in a packet out');
});

t.test('enqueue ports', async (t) => {
  const enqueue = (port: number): Action => ({ type: OFPAT.ENQUEUE, port, queueId: 1 });
  for (const port of [1, 0xfeff, OFPP.IN_PORT, OFPP.LOCAL]) t.equal(codeOf(flowMod([enqueue(port)])), null);
  for (const port of [OFPP.NONE, OFPP.FLOOD, 0xff00, 0xfff7]) t.equal(codeOf(flowMod([enqueue(port)])), BAD_OUT_PORT);
});

t.test('action arguments', async (t) => {
  t.equal(codeOf(flowMod([{ type: OFPAT.SET_VLAN_VID, vlanVid: 4095 }])), null);
  t.equal(codeOf(flowMod([{ type: OFPAT.SET_VLAN_VID, vlanVid: 4096 }])), BAD_ARGUMENT);
  t.equal(codeOf(flowMod([{ type: OFPAT.SET_VLAN_PCP, vlanPcp: 7 }])), null);
  t.equal(codeOf(flowMod([{ type: OFPAT.SET_VLAN_PCP, vlanPcp: 8 }])), BAD_ARGUMENT);
  t.equal(codeOf(flowMod([{ type: OFPAT.SET_NW_TOS, nwTos: 0xfc }])), null);
  t.equal(codeOf(packetOut([{ type: OFPAT.SET_NW_TOS, nwTos: 0x01 }])), BAD_ARGUMENT);
  t.equal(codeOf(flowMod([{ type: OFPAT.SET_NW_TOS, nwTos: 0x02 }])), BAD_ARGUMENT);
  t.equal(codeOf(flowMod([{ type: OFPAT.STRIP_VLAN }, { type: OFPAT.SET_TP_DST, tpPort: 1 }])), null);
});

t.test('the error carries the xid and the raw bytes (or the re-encoded message)', async (t) => {
  const m = flowMod([output(OFPP.NONE)]);
  const raw = encodeMessage(m);
  const withRaw = validateMessage(m, raw);
  t.ok(withRaw instanceof OfpError);
  t.equal(withRaw?.data, raw);
  t.equal(withRaw?.xid, 9);
  t.ok(Buffer.from(validateMessage(m)?.data ?? []).equals(raw));
  t.match(withRaw?.reason, /BAD_OUT_PORT/);
});

t.test('ordinary messages pass', async (t) => {
  t.equal(validateMessage({ version: 1, type: OFPT.BARRIER_REQUEST, xid: 1 }), null);
  t.equal(validateMessage({ version: 1, type: OFPT.STATS_REQUEST, xid: 1, flags: 0, statsType: OFPST.DESC }), null);
});
