/**
 * Hand-written wire vectors, one per message type, stats type and action type, written from the
 * OpenFlow 1.0.0 spec with one comment per field (`--`). Each decodes to the expected object,
 * encodes back to the same bytes, and is framed correctly when split at every offset.
 * (Spot-checked with `ovs-ofctl ofp-print`; the systematic cross-checks are peers-*.test.ts.)
 */
import t from 'tap';
import {
  OFPAT,
  OFPBRC,
  OFPET,
  OFPQT,
  OFPST,
  OFPT,
  MessageFramer,
  decodeActions,
  decodeMessage,
  encodeActions,
  encodeMessage,
  type Action,
  type Match,
  type OfpMessage,
  type PhyPort,
} from '../../protocol/index.js';

/** Hex digits with `--` comments to end of line; whitespace ignored. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/--.*$/gm, '').replace(/\s+/g, ''), 'hex');
}
/** A NUL-padded char array of `size` bytes, as hex. */
const chars = (s: string, size: number): string => Buffer.from(s).toString('hex').padEnd(size * 2, '0');
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

const MATCH_HEX = `
  00000000      -- wildcards: none
  0001          -- in_port 1
  000000000001  -- dl_src
  000000000002  -- dl_dst
  ffff          -- dl_vlan: untagged
  00            -- dl_vlan_pcp
  00            -- pad
  0800          -- dl_type IPv4
  00            -- nw_tos
  06            -- nw_proto TCP
  0000          -- pad
  0a000001      -- nw_src 10.0.0.1
  0a000002      -- nw_dst 10.0.0.2
  04d2          -- tp_src 1234
  0050          -- tp_dst 80
`;
const MATCH: Match = {
  wildcards: 0,
  inPort: 1,
  dlSrc: '00:00:00:00:00:01',
  dlDst: '00:00:00:00:00:02',
  dlVlan: 0xffff,
  dlVlanPcp: 0,
  dlType: 0x0800,
  nwTos: 0,
  nwProto: 6,
  nwSrc: 0x0a000001,
  nwDst: 0x0a000002,
  tpSrc: 1234,
  tpDst: 80,
};
const ALL_WILDCARDS_MATCH_HEX = `
  003820ff      -- wildcards: everything, nw_src/nw_dst counts 32 (what ovs-ofctl sends)
  0000 000000000000 000000000000 0000 00 00 0000 00 00 0000 00000000 00000000 0000 0000
`;
const ALL_WILDCARDS_MATCH: Match = {
  wildcards: 0x003820ff,
  inPort: 0,
  dlSrc: '00:00:00:00:00:00',
  dlDst: '00:00:00:00:00:00',
  dlVlan: 0,
  dlVlanPcp: 0,
  dlType: 0,
  nwTos: 0,
  nwProto: 0,
  nwSrc: 0,
  nwDst: 0,
  tpSrc: 0,
  tpDst: 0,
};

const PORT_HEX = `
  0001              -- port_no 1
  0a0000000001      -- hw_addr
  ${chars('veth0', 16)} -- name "veth0", NUL-padded
  00000001          -- config: PORT_DOWN
  00000200          -- state: STP_FORWARD
  000000a0          -- curr: 1GB_FD | COPPER
  000002a0          -- advertised: 1GB_FD | COPPER | AUTONEG
  000002a0          -- supported
  00000000          -- peer
`;
const PORT: PhyPort = {
  portNo: 1,
  hwAddr: '0a:00:00:00:00:01',
  name: 'veth0',
  config: 1,
  state: 0x200,
  curr: 0xa0,
  advertised: 0x2a0,
  supported: 0x2a0,
  peer: 0,
};

interface Vector {
  readonly name: string;
  readonly wire: string;
  readonly message: OfpMessage;
}

const vectors: Vector[] = [
  {
    name: 'HELLO',
    wire: `01 00 0008 00000001 -- version 1, OFPT_HELLO, length 8, xid 1`,
    message: { version: 1, type: OFPT.HELLO, xid: 1, body: bytes() },
  },
  {
    name: 'HELLO of version 4 with a version bitmap element',
    wire: `
      04 00 0010 00000002 -- version 4 (OpenFlow 1.3), OFPT_HELLO, length 16, xid 2
      0001 0008           -- hello element: OFPHET_VERSIONBITMAP, length 8
      00000012            -- bitmap: versions 1 and 4
    `,
    message: { version: 4, type: OFPT.HELLO, xid: 2, body: bytes(0, 1, 0, 8, 0, 0, 0, 0x12) },
  },
  {
    name: 'ERROR',
    wire: `
      01 01 0014 00000003 -- OFPT_ERROR, length 20
      0001                -- type: OFPET_BAD_REQUEST
      0006                -- code: OFPBRC_BAD_LEN
      01 0e 0008 00000009 -- data: the offending message's first bytes
    `,
    message: {
      version: 1,
      type: OFPT.ERROR,
      xid: 3,
      errorType: OFPET.BAD_REQUEST,
      code: OFPBRC.BAD_LEN,
      data: bytes(1, 0x0e, 0, 8, 0, 0, 0, 9),
    },
  },
  {
    name: 'ECHO_REQUEST',
    wire: `01 02 000c 00000000 -- OFPT_ECHO_REQUEST, length 12, xid 0 (as ovs-ofctl probe)
           61626364            -- payload "abcd"`,
    message: { version: 1, type: OFPT.ECHO_REQUEST, xid: 0, data: bytes(0x61, 0x62, 0x63, 0x64) },
  },
  {
    name: 'ECHO_REPLY',
    wire: `01 03 0008 00000004 -- OFPT_ECHO_REPLY, no payload`,
    message: { version: 1, type: OFPT.ECHO_REPLY, xid: 4, data: bytes() },
  },
  {
    name: 'VENDOR (NXT_SET_FLOW_FORMAT)',
    wire: `
      01 04 0014 00000005 -- OFPT_VENDOR, length 20
      00002320            -- vendor: Nicira
      0000000c            -- subtype 12: NXT_SET_FLOW_FORMAT
      00000002            -- format: NXM
    `,
    message: { version: 1, type: OFPT.VENDOR, xid: 5, vendor: 0x2320, data: bytes(0, 0, 0, 12, 0, 0, 0, 2) },
  },
  {
    name: 'FEATURES_REQUEST',
    wire: `01 05 0008 00000006`,
    message: { version: 1, type: OFPT.FEATURES_REQUEST, xid: 6 },
  },
  {
    name: 'FEATURES_REPLY with one port',
    wire: `
      01 06 0050 00000006 -- OFPT_FEATURES_REPLY, length 32 + 48
      0000000000000abc    -- datapath_id
      00000100            -- n_buffers 256
      01                  -- n_tables 1
      000000              -- pad
      000000c7            -- capabilities: FLOW/TABLE/PORT_STATS, QUEUE_STATS, ARP_MATCH_IP
      00000fff            -- actions: OUTPUT..ENQUEUE
      ${PORT_HEX}
    `,
    message: {
      version: 1,
      type: OFPT.FEATURES_REPLY,
      xid: 6,
      datapathId: 0xabcn,
      nBuffers: 256,
      nTables: 1,
      capabilities: 0xc7,
      actions: 0xfff,
      ports: [PORT],
    },
  },
  {
    name: 'GET_CONFIG_REQUEST',
    wire: `01 07 0008 00000007`,
    message: { version: 1, type: OFPT.GET_CONFIG_REQUEST, xid: 7 },
  },
  {
    name: 'GET_CONFIG_REPLY',
    wire: `01 08 000c 00000007 -- OFPT_GET_CONFIG_REPLY
           0000                -- flags: OFPC_FRAG_NORMAL
           0080                -- miss_send_len 128`,
    message: { version: 1, type: OFPT.GET_CONFIG_REPLY, xid: 7, flags: 0, missSendLen: 128 },
  },
  {
    name: 'SET_CONFIG',
    wire: `01 09 000c 00000008 -- OFPT_SET_CONFIG
           0001                -- flags: OFPC_FRAG_DROP
           ffff                -- miss_send_len 65535`,
    message: { version: 1, type: OFPT.SET_CONFIG, xid: 8, flags: 1, missSendLen: 0xffff },
  },
  {
    name: 'PACKET_IN',
    wire: `
      01 0a 001a 00000000 -- OFPT_PACKET_IN, length 26
      00000100            -- buffer_id 256
      0040                -- total_len 64
      0002                -- in_port 2
      00                  -- reason: OFPR_NO_MATCH
      00                  -- pad
      ffffffffffff 0000   -- data: 8 bytes of the frame
    `,
    message: {
      version: 1,
      type: OFPT.PACKET_IN,
      xid: 0,
      bufferId: 256,
      totalLen: 64,
      inPort: 2,
      reason: 0,
      data: bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0),
    },
  },
  {
    name: 'FLOW_REMOVED',
    wire: `
      01 0b 0058 00000000 -- OFPT_FLOW_REMOVED, length 88
      ${MATCH_HEX}
      0000000000000007    -- cookie 7
      8000                -- priority 32768
      00                  -- reason: OFPRR_IDLE_TIMEOUT
      00                  -- pad
      00000001            -- duration_sec 1
      1dcd6500            -- duration_nsec 500000000
      0001                -- idle_timeout 1
      0000                -- pad
      0000000000000003    -- packet_count 3
      00000000000000b4    -- byte_count 180
    `,
    message: {
      version: 1,
      type: OFPT.FLOW_REMOVED,
      xid: 0,
      match: MATCH,
      cookie: 7n,
      priority: 0x8000,
      reason: 0,
      durationSec: 1,
      durationNsec: 500000000,
      idleTimeout: 1,
      packetCount: 3n,
      byteCount: 180n,
    },
  },
  {
    name: 'PORT_STATUS',
    wire: `
      01 0c 0040 00000000 -- OFPT_PORT_STATUS, length 64
      02                  -- reason: OFPPR_MODIFY
      00000000000000      -- pad
      ${PORT_HEX}
    `,
    message: { version: 1, type: OFPT.PORT_STATUS, xid: 0, reason: 2, desc: PORT },
  },
  {
    name: 'PACKET_OUT with actions and data',
    wire: `
      01 0d 0024 00000009 -- OFPT_PACKET_OUT, length 36
      ffffffff            -- buffer_id: none
      fffe                -- in_port: LOCAL
      0008                -- actions_len 8
      0000 0008 fffb 0000 -- OUTPUT to FLOOD, max_len 0
      0102030405060708 090a0b0c -- data: 12 bytes
    `,
    message: {
      version: 1,
      type: OFPT.PACKET_OUT,
      xid: 9,
      bufferId: 0xffffffff,
      inPort: 0xfffe,
      actions: [{ type: OFPAT.OUTPUT, port: 0xfffb, maxLen: 0 }],
      data: bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
    },
  },
  {
    name: 'FLOW_MOD (ADD) with two actions',
    wire: `
      01 0e 0060 0000000a -- OFPT_FLOW_MOD, length 72 + 24
      ${MATCH_HEX}
      00000000000000ff    -- cookie 255
      0000                -- command: OFPFC_ADD
      003c                -- idle_timeout 60
      0000                -- hard_timeout 0
      0001                -- priority 1
      00000102            -- buffer_id 258
      ffff                -- out_port: none
      0001                -- flags: SEND_FLOW_REM
      0005 0010 0a0b0c0d0e0f 000000000000 -- SET_DL_DST 0a:0b:0c:0d:0e:0f
      0000 0008 0003 0000 -- OUTPUT to port 3
    `,
    message: {
      version: 1,
      type: OFPT.FLOW_MOD,
      xid: 10,
      match: MATCH,
      cookie: 255n,
      command: 0,
      idleTimeout: 60,
      hardTimeout: 0,
      priority: 1,
      bufferId: 258,
      outPort: 0xffff,
      flags: 1,
      actions: [
        { type: OFPAT.SET_DL_DST, dlAddr: '0a:0b:0c:0d:0e:0f' },
        { type: OFPAT.OUTPUT, port: 3, maxLen: 0 },
      ],
    },
  },
  {
    name: 'FLOW_MOD (DELETE) of everything, no actions',
    wire: `
      01 0e 0048 0000000b -- OFPT_FLOW_MOD, length 72
      ${ALL_WILDCARDS_MATCH_HEX}
      0000000000000000    -- cookie
      0003                -- command: OFPFC_DELETE
      0000 0000 8000      -- idle, hard, priority 32768
      ffffffff            -- buffer_id: none
      ffff                -- out_port: none
      0000                -- flags
    `,
    message: {
      version: 1,
      type: OFPT.FLOW_MOD,
      xid: 11,
      match: ALL_WILDCARDS_MATCH,
      cookie: 0n,
      command: 3,
      idleTimeout: 0,
      hardTimeout: 0,
      priority: 0x8000,
      bufferId: 0xffffffff,
      outPort: 0xffff,
      flags: 0,
      actions: [],
    },
  },
  {
    name: 'PORT_MOD',
    wire: `
      01 0f 0020 0000000c -- OFPT_PORT_MOD, length 32
      0001                -- port_no 1
      0a0000000001        -- hw_addr
      00000001            -- config: PORT_DOWN
      00000001            -- mask: PORT_DOWN
      00000000            -- advertise: unchanged
      00000000            -- pad
    `,
    message: { version: 1, type: OFPT.PORT_MOD, xid: 12, portNo: 1, hwAddr: '0a:00:00:00:00:01', config: 1, mask: 1, advertise: 0 },
  },
  {
    name: 'STATS_REQUEST desc',
    wire: `01 10 000c 0000000d -- OFPT_STATS_REQUEST, length 12
           0000 0000           -- type OFPST_DESC, flags 0`,
    message: { version: 1, type: OFPT.STATS_REQUEST, xid: 13, statsType: OFPST.DESC, flags: 0 },
  },
  {
    name: 'STATS_REQUEST flow',
    wire: `
      01 10 0038 0000000e -- OFPT_STATS_REQUEST, length 56
      0001 0000           -- type OFPST_FLOW, flags 0
      ${ALL_WILDCARDS_MATCH_HEX}
      ff                  -- table_id: all
      00                  -- pad
      ffff                -- out_port: none
    `,
    message: {
      version: 1,
      type: OFPT.STATS_REQUEST,
      xid: 14,
      statsType: OFPST.FLOW,
      flags: 0,
      match: ALL_WILDCARDS_MATCH,
      tableId: 0xff,
      outPort: 0xffff,
    },
  },
  {
    name: 'STATS_REQUEST aggregate',
    wire: `
      01 10 0038 0000000f -- OFPT_STATS_REQUEST, length 56
      0002 0000           -- type OFPST_AGGREGATE, flags 0
      ${MATCH_HEX}
      00 00 0002          -- table_id 0, pad, out_port 2
    `,
    message: {
      version: 1,
      type: OFPT.STATS_REQUEST,
      xid: 15,
      statsType: OFPST.AGGREGATE,
      flags: 0,
      match: MATCH,
      tableId: 0,
      outPort: 2,
    },
  },
  {
    name: 'STATS_REQUEST table',
    wire: `01 10 000c 00000010 0003 0000 -- OFPST_TABLE`,
    message: { version: 1, type: OFPT.STATS_REQUEST, xid: 16, statsType: OFPST.TABLE, flags: 0 },
  },
  {
    name: 'STATS_REQUEST port',
    wire: `01 10 0014 00000011 0004 0000 -- OFPST_PORT, length 20
           ffff                          -- port_no: OFPP_NONE (all ports)
           000000000000                  -- pad`,
    message: { version: 1, type: OFPT.STATS_REQUEST, xid: 17, statsType: OFPST.PORT, flags: 0, portNo: 0xffff },
  },
  {
    name: 'STATS_REQUEST queue',
    wire: `01 10 0014 00000012 0005 0000 -- OFPST_QUEUE, length 20
           fffc                          -- port_no: OFPP_ALL
           0000                          -- pad
           ffffffff                      -- queue_id: OFPQ_ALL`,
    message: {
      version: 1,
      type: OFPT.STATS_REQUEST,
      xid: 18,
      statsType: OFPST.QUEUE,
      flags: 0,
      portNo: 0xfffc,
      queueId: 0xffffffff,
    },
  },
  {
    name: 'STATS_REQUEST port description (type 13, ovs-ofctl dump-ports-desc)',
    wire: `01 10 000c 00000013 000d 0000 -- stats type 13, flags 0`,
    message: { version: 1, type: OFPT.STATS_REQUEST, xid: 19, statsType: OFPST.PORT_DESC, flags: 0 },
  },
  {
    name: 'STATS_REQUEST vendor',
    wire: `01 10 0014 00000014 ffff 0000 -- OFPST_VENDOR, length 20
           00001234                      -- vendor 0x1234 (not Nicira, whose stats have their own layout)
           00000000                      -- body`,
    message: {
      version: 1,
      type: OFPT.STATS_REQUEST,
      xid: 20,
      statsType: OFPST.VENDOR,
      flags: 0,
      vendor: 0x1234,
      body: bytes(0, 0, 0, 0),
    },
  },
  {
    name: 'STATS_REPLY desc',
    wire: `
      01 11 042c 0000000d -- OFPT_STATS_REPLY, length 12 + 1056
      0000 0000           -- type OFPST_DESC, flags 0
      ${chars('ofswitch', 256)} -- mfr_desc
      ${chars('TypeScript', 256)} -- hw_desc
      ${chars('0.1.0', 256)} -- sw_desc
      ${chars('None', 32)} -- serial_num
      ${chars('br0', 256)} -- dp_desc
    `,
    message: {
      version: 1,
      type: OFPT.STATS_REPLY,
      xid: 13,
      statsType: OFPST.DESC,
      flags: 0,
      desc: { mfrDesc: 'ofswitch', hwDesc: 'TypeScript', swDesc: '0.1.0', serialNum: 'None', dpDesc: 'br0' },
    },
  },
  {
    name: 'STATS_REPLY flow with one entry',
    wire: `
      01 11 006c 0000000e -- OFPT_STATS_REPLY, length 12 + 96
      0001 0000           -- type OFPST_FLOW, flags 0
      0060                -- length 96 (88 + one action)
      00                  -- table_id 0
      00                  -- pad
      ${MATCH_HEX}
      0000000a            -- duration_sec 10
      00000064            -- duration_nsec 100
      0001 003c 0000      -- priority 1, idle_timeout 60, hard_timeout 0
      000000000000        -- pad
      0000000000000001    -- cookie 1
      0000000000000002    -- packet_count 2
      0000000000000080    -- byte_count 128
      0000 0008 fffd ffff -- OUTPUT to CONTROLLER, max_len 65535
    `,
    message: {
      version: 1,
      type: OFPT.STATS_REPLY,
      xid: 14,
      statsType: OFPST.FLOW,
      flags: 0,
      flows: [
        {
          tableId: 0,
          match: MATCH,
          durationSec: 10,
          durationNsec: 100,
          priority: 1,
          idleTimeout: 60,
          hardTimeout: 0,
          cookie: 1n,
          packetCount: 2n,
          byteCount: 128n,
          actions: [{ type: OFPAT.OUTPUT, port: 0xfffd, maxLen: 0xffff }],
        },
      ],
    },
  },
  {
    name: 'STATS_REPLY aggregate',
    wire: `
      01 11 0024 0000000f -- OFPT_STATS_REPLY, length 36
      0002 0000           -- type OFPST_AGGREGATE
      0000000000000005    -- packet_count 5
      0000000000000140    -- byte_count 320
      00000002            -- flow_count 2
      00000000            -- pad
    `,
    message: {
      version: 1,
      type: OFPT.STATS_REPLY,
      xid: 15,
      statsType: OFPST.AGGREGATE,
      flags: 0,
      stats: { packetCount: 5n, byteCount: 320n, flowCount: 2 },
    },
  },
  {
    name: 'STATS_REPLY table',
    wire: `
      01 11 004c 00000010 -- OFPT_STATS_REPLY, length 12 + 64
      0003 0000           -- type OFPST_TABLE
      00                  -- table_id 0
      000000              -- pad
      ${chars('classifier', 32)} -- name
      003fffff            -- wildcards: OFPFW_ALL
      00100000            -- max_entries 1048576
      00000002            -- active_count 2
      000000000000000a    -- lookup_count 10
      0000000000000007    -- matched_count 7
    `,
    message: {
      version: 1,
      type: OFPT.STATS_REPLY,
      xid: 16,
      statsType: OFPST.TABLE,
      flags: 0,
      tables: [
        {
          tableId: 0,
          name: 'classifier',
          wildcards: 0x3fffff,
          maxEntries: 0x100000,
          activeCount: 2,
          lookupCount: 10n,
          matchedCount: 7n,
        },
      ],
    },
  },
  {
    name: 'STATS_REPLY port',
    wire: `
      01 11 0074 00000011 -- OFPT_STATS_REPLY, length 12 + 104
      0004 0001           -- type OFPST_PORT, flags: REPLY_MORE
      0001                -- port_no 1
      000000000000        -- pad
      0000000000000001    -- rx_packets
      0000000000000002    -- tx_packets
      0000000000000003    -- rx_bytes
      0000000000000004    -- tx_bytes
      0000000000000005    -- rx_dropped
      0000000000000006    -- tx_dropped
      0000000000000007    -- rx_errors
      0000000000000008    -- tx_errors
      0000000000000009    -- rx_frame_err
      000000000000000a    -- rx_over_err
      000000000000000b    -- rx_crc_err
      ffffffffffffffff    -- collisions: unavailable
    `,
    message: {
      version: 1,
      type: OFPT.STATS_REPLY,
      xid: 17,
      statsType: OFPST.PORT,
      flags: 1,
      ports: [
        {
          portNo: 1,
          rxPackets: 1n,
          txPackets: 2n,
          rxBytes: 3n,
          txBytes: 4n,
          rxDropped: 5n,
          txDropped: 6n,
          rxErrors: 7n,
          txErrors: 8n,
          rxFrameErr: 9n,
          rxOverErr: 10n,
          rxCrcErr: 11n,
          collisions: 0xffffffffffffffffn,
        },
      ],
    },
  },
  {
    name: 'STATS_REPLY queue',
    wire: `
      01 11 002c 00000012 -- OFPT_STATS_REPLY, length 12 + 32
      0005 0000           -- type OFPST_QUEUE
      0001 0000           -- port_no 1, pad
      00000000            -- queue_id 0
      00000000000003e8    -- tx_bytes 1000
      000000000000000a    -- tx_packets 10
      0000000000000000    -- tx_errors 0
    `,
    message: {
      version: 1,
      type: OFPT.STATS_REPLY,
      xid: 18,
      statsType: OFPST.QUEUE,
      flags: 0,
      queues: [{ portNo: 1, queueId: 0, txBytes: 1000n, txPackets: 10n, txErrors: 0n }],
    },
  },
  {
    name: 'STATS_REPLY port description',
    wire: `
      01 11 003c 00000013 -- OFPT_STATS_REPLY, length 12 + 48
      000d 0000           -- stats type 13
      ${PORT_HEX}
    `,
    message: { version: 1, type: OFPT.STATS_REPLY, xid: 19, statsType: OFPST.PORT_DESC, flags: 0, ports: [PORT] },
  },
  {
    name: 'STATS_REPLY vendor',
    wire: `01 11 0010 00000014 ffff 0000 -- OFPST_VENDOR, length 16
           00001234                      -- vendor 0x1234, empty body`,
    message: {
      version: 1,
      type: OFPT.STATS_REPLY,
      xid: 20,
      statsType: OFPST.VENDOR,
      flags: 0,
      vendor: 0x1234,
      body: bytes(),
    },
  },
  {
    name: 'BARRIER_REQUEST',
    wire: `01 12 0008 00000015`,
    message: { version: 1, type: OFPT.BARRIER_REQUEST, xid: 21 },
  },
  {
    name: 'BARRIER_REPLY',
    wire: `01 13 0008 00000015`,
    message: { version: 1, type: OFPT.BARRIER_REPLY, xid: 21 },
  },
  {
    name: 'QUEUE_GET_CONFIG_REQUEST',
    wire: `01 14 000c 00000016 -- OFPT_QUEUE_GET_CONFIG_REQUEST, length 12
           0001 0000           -- port 1, pad`,
    message: { version: 1, type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 22, port: 1 },
  },
  {
    name: 'QUEUE_GET_CONFIG_REPLY with one queue',
    wire: `
      01 15 0030 00000016 -- OFPT_QUEUE_GET_CONFIG_REPLY, length 16 + 32
      0001 000000000000   -- port 1, pad
      00000001            -- queue_id 1
      0020 0000           -- len 32, pad
      0001 0010 00000000  -- property MIN_RATE, len 16, pad
      01f4 000000000000   -- rate 500 (50.0%), pad
      0000 0008 00000000  -- property NONE, len 8, pad
    `,
    message: {
      version: 1,
      type: OFPT.QUEUE_GET_CONFIG_REPLY,
      xid: 22,
      port: 1,
      queues: [{ queueId: 1, properties: [{ property: OFPQT.MIN_RATE, rate: 500 }, { property: OFPQT.NONE }] }],
    },
  },
];

/** Every action type, alone. */
const actionVectors: { name: string; wire: string; action: Action }[] = [
  { name: 'OUTPUT', wire: `0000 0008 -- OFPAT_OUTPUT, len 8\n 0001 0080 -- port 1, max_len 128`, action: { type: OFPAT.OUTPUT, port: 1, maxLen: 128 } },
  { name: 'SET_VLAN_VID', wire: `0001 0008 -- OFPAT_SET_VLAN_VID\n 0064 0000 -- vlan_vid 100, pad`, action: { type: OFPAT.SET_VLAN_VID, vlanVid: 100 } },
  { name: 'SET_VLAN_PCP', wire: `0002 0008 -- OFPAT_SET_VLAN_PCP\n 05 000000 -- vlan_pcp 5, pad`, action: { type: OFPAT.SET_VLAN_PCP, vlanPcp: 5 } },
  { name: 'STRIP_VLAN', wire: `0003 0008 -- OFPAT_STRIP_VLAN\n 00000000 -- pad`, action: { type: OFPAT.STRIP_VLAN } },
  {
    name: 'SET_DL_SRC',
    wire: `0004 0010 -- OFPAT_SET_DL_SRC, len 16\n 020000000001 -- dl_addr\n 000000000000 -- pad`,
    action: { type: OFPAT.SET_DL_SRC, dlAddr: '02:00:00:00:00:01' },
  },
  {
    name: 'SET_DL_DST',
    wire: `0005 0010 -- OFPAT_SET_DL_DST, len 16\n ffffffffffff -- dl_addr\n 000000000000 -- pad`,
    action: { type: OFPAT.SET_DL_DST, dlAddr: 'ff:ff:ff:ff:ff:ff' },
  },
  { name: 'SET_NW_SRC', wire: `0006 0008 -- OFPAT_SET_NW_SRC\n c0a80001 -- 192.168.0.1`, action: { type: OFPAT.SET_NW_SRC, nwAddr: 0xc0a80001 } },
  { name: 'SET_NW_DST', wire: `0007 0008 -- OFPAT_SET_NW_DST\n ffffffff -- 255.255.255.255`, action: { type: OFPAT.SET_NW_DST, nwAddr: 0xffffffff } },
  { name: 'SET_NW_TOS', wire: `0008 0008 -- OFPAT_SET_NW_TOS\n b8 000000 -- nw_tos 0xb8 (EF), pad`, action: { type: OFPAT.SET_NW_TOS, nwTos: 0xb8 } },
  { name: 'SET_TP_SRC', wire: `0009 0008 -- OFPAT_SET_TP_SRC\n 1f90 0000 -- 8080, pad`, action: { type: OFPAT.SET_TP_SRC, tpPort: 8080 } },
  { name: 'SET_TP_DST', wire: `000a 0008 -- OFPAT_SET_TP_DST\n 0035 0000 -- 53, pad`, action: { type: OFPAT.SET_TP_DST, tpPort: 53 } },
  {
    name: 'ENQUEUE',
    wire: `000b 0010 -- OFPAT_ENQUEUE, len 16\n 0002 000000000000 -- port 2, pad\n 00000001 -- queue_id 1`,
    action: { type: OFPAT.ENQUEUE, port: 2, queueId: 1 },
  },
  {
    name: 'VENDOR (Nicira resubmit)',
    wire: `ffff 0010 -- OFPAT_VENDOR, len 16\n 00002320 -- vendor: Nicira\n 0001 0005 00000000 -- subtype NXAST_RESUBMIT, in_port 5, pad`,
    action: { type: OFPAT.VENDOR, vendor: 0x2320, body: bytes(0, 1, 0, 5, 0, 0, 0, 0) },
  },
];

for (const v of vectors) {
  t.test(v.name, async (t) => {
    const wire = hex(v.wire);
    t.equal(wire.readUInt16BE(2), wire.length, 'the vector is self-consistent');
    t.strictSame(decodeMessage(wire), { ok: true, message: v.message }, 'decodes to the expected message');
    t.equal(encodeMessage(v.message).toString('hex'), wire.toString('hex'), 'encodes to the same bytes');
    for (let cut = 0; cut <= wire.length; cut++) {
      const framer = new MessageFramer();
      const frames = [...framer.push(wire.subarray(0, cut)), ...framer.push(wire.subarray(cut))];
      if (frames.length !== 1 || !Buffer.from(frames[0] ?? []).equals(wire)) {
        t.fail(`split at ${cut} gives ${frames.length} frames`);
        return;
      }
    }
    const oneByOne = new MessageFramer();
    const frames = Array.from(wire, (_, i) => oneByOne.push(wire.subarray(i, i + 1))).flat();
    t.equal(frames.length, 1, 'one byte at a time gives one message');
    t.strictSame(decodeMessage(frames[0] ?? new Uint8Array()), { ok: true, message: v.message });
  });
}

t.test('every action type, alone and all together in one FLOW_MOD', async (t) => {
  for (const v of actionVectors) {
    const wire = hex(v.wire);
    t.strictSame(decodeActions(wire), [v.action], `${v.name} decodes`);
    t.equal(encodeActions([v.action]).toString('hex'), wire.toString('hex'), `${v.name} encodes`);
  }
  const all = actionVectors.map((v) => v.action);
  const flowMod: OfpMessage = { ...(vectors.find((v) => v.name.startsWith('FLOW_MOD (ADD)'))?.message as OfpMessage), actions: all } as OfpMessage;
  const wire = encodeMessage(flowMod);
  t.equal(wire.length, 72 + actionVectors.reduce((n, v) => n + hex(v.wire).length, 0));
  t.strictSame(decodeMessage(wire), { ok: true, message: flowMod });
});

/** `VECTORS_HEX=1 npx tap ...` prints each vector for checking with `ovs-ofctl ofp-print`. */
if (process.env['VECTORS_HEX']) for (const v of vectors) console.log(`${v.name}\t${hex(v.wire).toString('hex')}`);
