/**
 * ofswitch's codec against scapy's independent OpenFlow 1.0 implementation (scapy.contrib.openflow,
 * Debian's scapy 2.5 on /usr/bin/python3), in both directions, for every message in the corpus:
 * - what ofswitch encodes, scapy dissects with no error, no bytes left unstructured where a
 *   structure belongs, and the same field values;
 * - what scapy builds from the same values, ofswitch decodes to exactly those values.
 */
import t from 'tap';
import { decodeMessage, encodeMessage, OFPST, OFPT } from '../../protocol/index.js';
import type { OfpMessage } from '../../protocol/index.js';
import { CORPUS, comparable } from '../helpers/of10-corpus.js';
import { allLayers, ScapyPeer, type ScapyLayer } from '../helpers/scapy.js';
import { messageFromScapy, scapySpecOf } from '../helpers/scapy-messages.js';

const scapy = new ScapyPeer();
t.teardown(() => scapy.close());

/** scapy 2.5 has no class for stats type 13 (port description, an Open vSwitch extension to 1.0). */
function scapyLacks(msg: OfpMessage): boolean {
  return (msg.type === OFPT.STATS_REQUEST || msg.type === OFPT.STATS_REPLY) && msg.statsType === OFPST.PORT_DESC;
}

/** Types whose message ends in opaque bytes (scapy leaves those as a Raw payload of the message). */
const OPAQUE_TAIL = new Set<string>([
  'OFPTHello', 'OFPTEchoRequest', 'OFPTEchoReply', 'OFPTVendor', 'OFPTStatsRequestVendor', 'OFPTStatsReplyVendor',
  'OFPTPacketIn', 'OFPTPacketOut',
]);

/** Structures scapy must have consumed whole: no payload may hang off them. */
function leftovers(tree: ScapyLayer): string[] {
  const found: string[] = [];
  for (const layer of allLayers(tree)) {
    if (!layer.cls.startsWith('OFP') || layer.cls.startsWith('OFPET') || layer.cls === 'OFPATVendor') continue;
    if (layer === tree && OPAQUE_TAIL.has(layer.cls)) continue;
    if (layer.payload) found.push(`${layer.cls} is followed by ${layer.payload.cls} (${layer.payload.raw})`);
  }
  return found;
}

t.test('scapy cannot express port-description stats (so they are checked against ovs-ofctl only)', async (t) => {
  t.throws(() => scapySpecOf(CORPUS.portDescStatsRequest as OfpMessage), /port-description/);
});

for (const [name, msg] of Object.entries(CORPUS)) {
  if (scapyLacks(msg)) continue;

  t.test(`${name}: ofswitch's encoding, dissected by scapy`, async (t) => {
    const bytes = encodeMessage(msg);
    const tree = await scapy.dissect(bytes);
    t.same(leftovers(tree), [], 'every structure dissected whole');
    t.equal(tree.fields.len, bytes.length, 'scapy reads the length ofswitch wrote');
    t.same(comparable(messageFromScapy(tree)), comparable(msg), 'scapy reads the same field values');
  });

  t.test(`${name}: built by scapy, decoded by ofswitch`, async (t) => {
    const bytes = await scapy.build(scapySpecOf(msg));
    const result = decodeMessage(bytes);
    if (!result.ok) {
      t.fail(`ofswitch refused scapy's bytes: ${result.reason}`);
      return;
    }
    t.same(comparable(result.message), comparable(msg), 'the same field values');
    t.equal(encodeMessage(result.message).toString('hex'), bytes.toString('hex'), 're-encodes to scapy\'s bytes');
  });
}
