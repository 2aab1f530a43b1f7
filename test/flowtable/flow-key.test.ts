import t from 'tap';
import { packFlowKey, unpackFlowKey, macToWords, wordsToMac, type FlowFields } from '../../flowtable/flow-key.js';

const fields: FlowFields = {
  inPort: 0xfffe, dlVlan: 0xffff, dlVlanPcp: 7, dlSrc: 'ff:01:02:03:04:05', dlDst: '80:aa:bb:cc:dd:ee',
  dlType: 0x0800, nwTos: 0xfc, nwProto: 6, nwSrc: 0xc0a80001, nwDst: 0x8000000a, tpSrc: 0xffff, tpDst: 80,
};

t.test('pack and unpack give the fields back, high bits included', async (t) => {
  const key = packFlowKey(fields);
  t.same(unpackFlowKey(key), fields);
  t.equal(key.length, 9);
});

t.test('mac words', async (t) => {
  t.same(macToWords('01:02:03:04:05:06'), [0x0102, 0x03040506]);
  t.equal(wordsToMac(0xffff, 0xffffffff), 'ff:ff:ff:ff:ff:ff');
});

t.test('missing MAC bytes and missing key words read as zero', async (t) => {
  t.same(macToWords('0a'), [0x0a00, 0]);
  t.same(macToWords('01:02:03'), [0x0102, 0x03000000]);
  const f = unpackFlowKey(new Uint32Array(0));
  t.same([f.inPort, f.dlSrc, f.nwSrc, f.tpDst], [0, '00:00:00:00:00:00', 0, 0]);
});
