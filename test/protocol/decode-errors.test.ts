/** Every malformed-message case the codec names, with the spec's error type/code and the offending bytes. */
import t from 'tap';
import {
  OFPBAC,
  OFPBRC,
  OFPET,
  OFPT,
  OfpError,
  decodeActions,
  decodeMessage,
  encodeMessage,
} from '../../protocol/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/--.*$/gm, '').replace(/\s+/g, ''), 'hex');
/** A message with its length field set to its real length. */
const msg = (s: string): Buffer => {
  const b = hex(s);
  b.writeUInt16BE(b.length, 2);
  return b;
};
const zeros = (n: number): string => '00'.repeat(n);
const FLOW_MOD_HEAD = `01 0e 0000 00000042 ${zeros(64)}`; // header (xid 0x42), match, cookie..flags all zero

const cases: { name: string; bytes: Buffer; type: number; code: number }[] = [
  { name: 'fewer than 8 bytes', bytes: hex('010000'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'length field disagrees with the bytes', bytes: hex('01000010 00000042'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'version 2 FEATURES_REQUEST', bytes: msg('02 05 0000 00000042'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_VERSION },
  { name: 'unknown type 22', bytes: msg('01 16 0000 00000042'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TYPE },
  { name: 'unknown type 0xff', bytes: msg('01 ff 0000 00000042'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TYPE },
  { name: 'FLOW_MOD shorter than 72', bytes: msg(`01 0e 0000 00000042 ${zeros(60)}`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'FLOW_MOD actions not a multiple of 8', bytes: msg(`${FLOW_MOD_HEAD} 0000 0008 0001`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'FEATURES_REQUEST with a body', bytes: msg('01 05 0000 00000042 00000000'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'SET_CONFIG too short', bytes: msg('01 09 0000 00000042 0000'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'BARRIER_REQUEST with a body', bytes: msg('01 12 0000 00000042 00'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'ERROR without type and code', bytes: msg('01 01 0000 00000042'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'FEATURES_REPLY ports not whole', bytes: msg(`01 06 0000 00000042 ${zeros(24)} ${zeros(47)}`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'stats request of unknown type 9', bytes: msg('01 10 0000 00000042 0009 0000'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_STAT },
  { name: 'stats reply of unknown type 9', bytes: msg('01 11 0000 00000042 0009 0000'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_STAT },
  { name: 'flow stats request with a short body', bytes: msg(`01 10 0000 00000042 0001 0000 ${zeros(40)}`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'desc stats request with a body', bytes: msg('01 10 0000 00000042 0000 0000 00'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'port stats request too short', bytes: msg('01 10 0000 00000042 0004 0000 ffff'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'vendor stats without a vendor id', bytes: msg('01 10 0000 00000042 ffff 0000 0000'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'desc stats reply too short', bytes: msg(`01 11 0000 00000042 0000 0000 ${zeros(1000)}`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'aggregate stats reply too short', bytes: msg(`01 11 0000 00000042 0002 0000 ${zeros(20)}`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'port stats reply not whole entries', bytes: msg(`01 11 0000 00000042 0004 0000 ${zeros(100)}`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'flow stats entry shorter than 88', bytes: msg(`01 11 0000 00000042 0001 0000 0050 ${zeros(86)}`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'flow stats entry overrunning the reply', bytes: msg(`01 11 0000 00000042 0001 0000 0060 ${zeros(86)}`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'flow stats entry with a stray byte', bytes: msg(`01 11 0000 00000042 0001 0000 0058 ${zeros(86)} 00`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'flow stats entry with a bad action', bytes: msg(`01 11 0000 00000042 0001 0000 0060 ${zeros(86)} 0063 0008 00000000`), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_TYPE },
  { name: 'queue config reply: queue shorter than 8', bytes: msg(`01 15 0000 00000042 ${zeros(8)} 00000001 0004 0000`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'queue config reply: queue overruns', bytes: msg(`01 15 0000 00000042 ${zeros(8)} 00000001 0020 0000`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'queue config reply: property shorter than 8', bytes: msg(`01 15 0000 00000042 ${zeros(8)} 00000001 0010 0000 0001 0004 00000000`), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
  { name: 'action of unknown type', bytes: msg(`${FLOW_MOD_HEAD} 000c 0008 00000000`), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_TYPE },
  { name: 'action length below 8', bytes: msg(`${FLOW_MOD_HEAD} 0000 0004 00000000`), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'action length not a multiple of 8', bytes: msg(`${FLOW_MOD_HEAD} ffff 000c 00002320 ${zeros(4)} ${zeros(4)}`), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'action length wrong for its type', bytes: msg(`${FLOW_MOD_HEAD} 0000 0010 0001 0000 ${zeros(8)}`), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'action overrunning the list', bytes: msg(`${FLOW_MOD_HEAD} 0004 0018 ${zeros(12)}`), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'PACKET_OUT actions_len overrunning the message', bytes: msg('01 0d 0000 00000042 ffffffff 0001 0010 0000 0008 0001 0000'), type: OFPET.BAD_ACTION, code: OFPBAC.BAD_LEN },
  { name: 'PACKET_OUT actions_len not a multiple of 8', bytes: msg('01 0d 0000 00000042 ffffffff 0001 0004 0000 0008 0001 0000'), type: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const r = decodeMessage(c.bytes);
    t.equal(r.ok, false);
    if (r.ok) return;
    t.equal(`${r.errorType}/${r.code}`, `${c.type}/${c.code}`, r.reason);
    t.ok(r instanceof OfpError, 'an OfpError');
    t.ok(Buffer.from(r.data).equals(c.bytes), 'the data is the whole offending message');
    t.equal(r.xid, c.bytes.length >= 8 ? 0x42 : 0);
  });
}

t.test('HELLO of any version decodes, with its body', async (t) => {
  for (const version of [0, 2, 6, 0xff]) {
    const r = decodeMessage(msg(`${version.toString(16).padStart(2, '0')} 00 0000 00000001 aabb`));
    t.ok(r.ok && r.message.type === OFPT.HELLO && r.message.version === version && r.message.body.length === 2);
  }
});

t.test('vendor messages, stats and actions decode (refusing them is validate\'s job)', async (t) => {
  t.ok(decodeMessage(msg('01 04 0000 00000042 00002320 0000000c 00000002')).ok);
  t.ok(decodeMessage(msg('01 10 0000 00000042 ffff 0000 00002320')).ok);
  t.ok(decodeMessage(msg(`${FLOW_MOD_HEAD} ffff 0010 00002320 0001 0005 00000000`)).ok);
});

t.test('decodeActions on bare lists', async (t) => {
  const stray = decodeActions(hex('0000 0008 0001 0000 0000'));
  t.ok(!Array.isArray(stray) && stray.code === OFPBAC.BAD_LEN, 'stray bytes after the last action');
  t.same(decodeActions(new Uint8Array()), []);
});

t.test('decoding random bytes never throws and always names an error or a message', async (t) => {
  let seed = 1;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let decoded = 0;
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const len = 8 + Math.floor(rand() * 120);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = Math.floor(rand() * 256);
    b[0] = 1;
    b[1] = Math.floor(rand() * 24);
    b.writeUInt16BE(len, 2);
    const r = decodeMessage(b); // an exception fails the test
    if (r.ok) decoded++;
    else if (typeof r.errorType === 'number' && typeof r.code === 'number') refused++;
  }
  t.equal(decoded + refused, 3000, 'every one decoded, or refused with an error type and code');
  t.ok(decoded > 0 && refused > 0, `both outcomes occur (${decoded} decoded, ${refused} refused)`);
});

t.test('the OFPT_ERROR of a decode error', async (t) => {
  const bad = msg(`${FLOW_MOD_HEAD} 000c 0008 00000000`);
  const err = decodeMessage(bad) as OfpError;
  const reply = err.toMessage();
  t.strictSame(reply, { version: 1, type: OFPT.ERROR, xid: 0x42, errorType: OFPET.BAD_ACTION, code: OFPBAC.BAD_TYPE, data: new Uint8Array(bad) });
  const wire = encodeMessage(reply);
  t.equal(wire.readUInt32BE(4), 0x42, 'the reply carries the request xid');
  t.ok(wire.subarray(12).equals(bad), 'and the whole offending message');
  const huge = new Uint8Array(0xffff);
  const capped = new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, 7, huge, 'huge').toMessage();
  t.equal(capped.data.length, 0xffff - 12, 'capped so that the error fits in 65535 bytes');
  t.equal(encodeMessage(capped).length, 0xffff);
});
