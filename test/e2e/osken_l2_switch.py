"""A small OpenFlow 1.0 L2 learning switch for os-ken, used by test/e2e/controllers.test.ts.

os-ken ships no sample apps. This one learns each source MAC's port from PACKET_IN, installs a
flow (in_port, dl_dst) -> output once the destination is known, with OFPFF_SEND_FLOW_REM, and
sends every packet-in on with PACKET_OUT naming the packet's buffer (data only when unbuffered).
It prints one line per event so the test can see what the controller did.
"""
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER, CONFIG_DISPATCHER, set_ev_cls
from os_ken.lib.mac import haddr_to_bin
from os_ken.lib.packet import ethernet, packet
from os_ken.ofproto import ofproto_v1_0


class L2Switch(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_0.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mac_to_port = {}

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        print('FEATURES dpid=%016x ports=%d' % (ev.msg.datapath_id, len(ev.msg.ports)), flush=True)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp = dp.ofproto
        parser = dp.ofproto_parser
        eth = packet.Packet(msg.data).get_protocol(ethernet.ethernet)
        if eth is None:
            return
        table = self.mac_to_port.setdefault(dp.id, {})
        table[eth.src] = msg.in_port
        out_port = table.get(eth.dst, ofp.OFPP_FLOOD)
        actions = [parser.OFPActionOutput(out_port)]
        print('PACKET_IN in_port=%d buffer_id=%d reason=%d total_len=%d len=%d %s->%s out=%d' % (
            msg.in_port, msg.buffer_id, msg.reason, msg.total_len, len(msg.data), eth.src, eth.dst,
            out_port), flush=True)
        if out_port != ofp.OFPP_FLOOD:
            match = parser.OFPMatch(in_port=msg.in_port, dl_dst=haddr_to_bin(eth.dst))
            dp.send_msg(parser.OFPFlowMod(
                datapath=dp, match=match, cookie=0x42, command=ofp.OFPFC_ADD, idle_timeout=0,
                hard_timeout=0, priority=ofp.OFP_DEFAULT_PRIORITY, flags=ofp.OFPFF_SEND_FLOW_REM,
                actions=actions))
        data = msg.data if msg.buffer_id == ofp.OFP_NO_BUFFER else None
        dp.send_msg(parser.OFPPacketOut(datapath=dp, buffer_id=msg.buffer_id, in_port=msg.in_port,
                                        actions=actions, data=data))

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def error(self, ev):
        print('ERROR type=%d code=%d' % (ev.msg.type, ev.msg.code), flush=True)
