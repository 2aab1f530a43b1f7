/** OfpError, the one error value of every layer, and what cannot be encoded. */
import t from 'tap';
import {
  NX_VENDOR_ID,
  NXBRC_UNENCODABLE_ERROR,
  NXET_VENDOR,
  NXVC_VENDOR_ERROR,
  OFPBRC,
  OFPET,
  OFPST,
  OFPT,
  OfpError,
  encodeMessage,
  errorName,
  internalError,
  requestError,
  type Action,
  type OfpMessage,
} from '../../protocol/index.js';
import { writeActions } from '../../protocol/actions.js';

const request = Uint8Array.from([1, 5, 0, 8, 0xde, 0xad, 0xbe, 0xef]); // FEATURES_REQUEST, xid 0xdeadbeef

t.test('requestError: the xid and the data from the request bytes', async (t) => {
  const err = requestError(OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN, request, 'buffer 0x7');
  t.ok(err instanceof OfpError);
  t.match(err, { ok: false, errorType: OFPET.BAD_REQUEST, code: OFPBRC.BUFFER_UNKNOWN, xid: 0xdeadbeef, reason: 'BAD_REQUEST/BUFFER_UNKNOWN: buffer 0x7' });
  t.equal(err.data, request);
  t.equal(requestError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, request.subarray(0, 5), 'short').xid, 0, 'no whole header: xid 0');
});

t.test('internalError: NXBRC_UNENCODABLE_ERROR as a Nicira vendor error, then the request', async (t) => {
  const err = internalError(request, 'TypeError: x is undefined');
  t.match(err, { errorType: NXET_VENDOR, code: NXVC_VENDOR_ERROR, xid: 0xdeadbeef });
  t.equal(err.reason, 'NXET_VENDOR/NXVC_VENDOR_ERROR: NXBRC_UNENCODABLE_ERROR: TypeError: x is undefined');
  const data = Buffer.from(err.data);
  t.same([data.readUInt32BE(0), data.readUInt16BE(4), data.readUInt16BE(6)], [NX_VENDOR_ID, OFPET.BAD_REQUEST, NXBRC_UNENCODABLE_ERROR]);
  t.same([...data.subarray(8)], [...request]);
  t.equal(encodeMessage(err.toMessage()).readUInt16BE(8), NXET_VENDOR);
});

t.test('errorName names the spec\'s errors and numbers the others', async (t) => {
  t.equal(errorName(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN), 'BAD_REQUEST/BAD_LEN');
  t.equal(errorName(OFPET.BAD_REQUEST, 99), 'BAD_REQUEST/0x63');
  t.equal(errorName(9, 1), '0x9/1');
});

t.test('a message the encoder has no case for throws instead of going out as a bare header', async (t) => {
  const h = { version: 1, xid: 1 };
  const bogus = [
    { ...h, type: 99 },
    { ...h, type: OFPT.STATS_REQUEST, flags: 0, statsType: 99 },
    { ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: 99 },
  ] as unknown as OfpMessage[];
  for (const msg of bogus) t.throws(() => encodeMessage(msg), TypeError, JSON.stringify(msg));
  t.equal(encodeMessage({ ...h, type: OFPT.STATS_REQUEST, flags: 0, statsType: OFPST.TABLE }).length, 12, 'a known bodiless one encodes');
  t.throws(() => writeActions([{ type: 99 } as unknown as Action], Buffer.alloc(8), 0), TypeError, 'an action too');
});
