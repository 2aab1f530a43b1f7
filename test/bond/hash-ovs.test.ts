/**
 * balance-slb's hash is Open vSwitch's: `ovs-appctl bond/hash MAC VLAN BASIS` on a running
 * ovs-vswitchd (userspace, in its own namespace) gives the same bucket as ofswitch's hashMac for
 * every address, VLAN and basis tried. balance-tcp's hash is symmetric (both directions of a
 * connection in one bucket).
 */
import t from 'tap';
import { hashFiveTuple, hashMac } from '../../bond/hash.js';
import { macNumber } from '../../bond/lacp.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';
import { ethFrame, ipv4Packet, udpDatagram } from '../datapath/frames.js';

t.test('hashMac gives the bucket Open vSwitch gives', async (t) => {
  const ovs = await startOvsUserspace(t, { tag: 'bhash' });
  const cases: [string, number, number][] = [
    ['00:00:00:00:00:01', 0, 0],
    ['02:00:00:00:01:01', 0, 0],
    ['aa:55:aa:55:00:07', 10, 0],
    ['fe:dc:ba:98:76:54', 4095, 0],
    ['12:34:56:78:9a:bc', 1, 12345],
    ['ff:ff:ff:ff:ff:fe', 100, 4294967295],
    ['50:54:00:00:00:02', 0, 7],
    ['de:ad:be:ef:00:00', 300, 1],
  ];
  for (const [mac, vlan, basis] of cases) {
    const r = await ovs.tryAppctl(['bond/hash', mac, String(vlan), String(basis)]);
    t.equal(r.code, 0, `ovs-appctl bond/hash ${mac} ${vlan} ${basis}`);
    t.not(r.stdout.trim(), '', 'answered');
    t.equal(String(hashMac(macNumber(mac)!, vlan, basis) & 255), r.stdout.trim(), `${mac} VLAN ${vlan} basis ${basis}: bucket ${r.stdout.trim()}`);
  }
});

t.test('hashFiveTuple is the same both ways', async (t) => {
  const there = ethFrame(0x0800, ipv4Packet({ proto: 17, src: 0x0a000001, dst: 0x0a000002 }, udpDatagram(1234, 80)), { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' });
  const back = ethFrame(0x0800, ipv4Packet({ proto: 17, src: 0x0a000002, dst: 0x0a000001 }, udpDatagram(80, 1234)), { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01' });
  t.equal(hashFiveTuple(there, 0), hashFiveTuple(back, 0), 'UDP both ways');
  const other = ethFrame(0x0800, ipv4Packet({ proto: 17, src: 0x0a000001, dst: 0x0a000002 }, udpDatagram(1235, 80)), { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' });
  t.not(hashFiveTuple(there, 0), hashFiveTuple(other, 0), 'another source port, another hash');
  const tagged = ethFrame(0x0800, ipv4Packet({ proto: 17, src: 0x0a000001, dst: 0x0a000002 }, udpDatagram(1234, 80)), { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', vlan: { vid: 5 } });
  t.equal(hashFiveTuple(tagged, 0), hashFiveTuple(there, 0), 'a VLAN tag changes nothing');
  const v6 = new Uint8Array(14 + 40 + 8);
  v6[12] = 0x86;
  v6[13] = 0xdd;
  v6[14 + 6] = 17;
  v6[14 + 8] = 1;
  const v6back = v6.slice();
  v6back[14 + 8] = 0;
  v6back[14 + 24] = 1;
  t.equal(hashFiveTuple(v6, 3), hashFiveTuple(v6back, 3), 'IPv6 both ways');
  const arp = ethFrame(0x0806, new Array(28).fill(0), { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' });
  const arpBack = ethFrame(0x0806, new Array(28).fill(0), { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01' });
  t.equal(hashFiveTuple(arp, 0), hashFiveTuple(arpBack, 0), 'not IP: by Ethernet addresses, both ways');
});
