import t from 'tap';
import { decodeMessage, encodeMessage } from '../../protocol/index.js';
import { OFPT } from '../../protocol/constants.js';

// A PORT_STATUS whose port name is not UTF-8 (found by the fuzz run): names are C strings of no
// stated encoding, so they must come back byte for byte.
const name = [...Buffer.from('          '), 0x84, 0x80, 0, 0, 0, 0];
const portStatus = Uint8Array.from([
  0x01, OFPT.PORT_STATUS, 0x00, 0x40, 0, 0, 0, 7, // header, length 64, xid 7
  0x02, 0, 0, 0, 0, 0, 0, 0, // reason MODIFY, pad
  0x00, 0x01, 0x0a, 0, 0x27, 0, 0, 0x01, // port_no 1, hw_addr
  ...name, // name[16]
  0, 0, 0, 0, 0, 0, 0, 0, // config, state
  0, 0, 0, 0, 0, 0, 0, 0, // curr, advertised
  0, 0, 0, 0, 0, 0, 0, 0, // supported, peer
]);

t.test('a port name that is not UTF-8 round-trips byte for byte', async (t) => {
  t.equal(portStatus.length, 64);
  const decoded = decodeMessage(portStatus);
  t.ok(decoded.ok, 'decodes');
  if (!decoded.ok) return;
  t.same(Buffer.from(encodeMessage(decoded.message)), Buffer.from(portStatus));
});

t.test('a name given as a JS string with wide characters is written as UTF-8', async (t) => {
  const decoded = decodeMessage(portStatus);
  if (!decoded.ok || decoded.message.type !== OFPT.PORT_STATUS) return t.fail('decodes');
  const msg = { ...decoded.message, desc: { ...decoded.message.desc, name: 'ж0' } };
  const bytes = encodeMessage(msg);
  t.same([...bytes.subarray(24, 28)], [0xd0, 0xb6, 0x30, 0]);
});
