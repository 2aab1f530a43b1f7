"""Scapy's OpenFlow 1.0 dissector and builder as a JSON-lines service for ofswitch's peer tests.

One request per stdin line, one JSON answer per stdout line, in order:
  {"op": "dissect", "hex": "..."}  -> {"ok": true, "tree": LAYER}
  {"op": "build", "spec": SPEC}    -> {"ok": true, "hex": "..."}
On any exception: {"ok": false, "error": "..."}.

LAYER is {"cls": class name, "fields": {name: VALUE}, "payload": LAYER or null, "raw": the hex
it was dissected from (with its payload)}; a VALUE is an
int (a string of decimal digits when above 2**53), a str, {"hex": "..."} for bytes, a LAYER
for a packet field, or a list of VALUEs. SPEC is {"cls": name, "fields": {...}, "load": hex}:
field values are VALUEs too, a dict with "cls" being a nested SPEC; "load" appends raw bytes.
Run with Debian's /usr/bin/python3 (scapy 2.5).
"""
import json
import logging
import sys

logging.getLogger("scapy").setLevel(logging.ERROR)

import scapy.contrib.openflow as of  # noqa: E402
from scapy.packet import Packet, Raw  # noqa: E402
from scapy.all import raw  # noqa: E402
from scapy.fields import FlagValue  # noqa: E402

conf_of = __import__("scapy.config", fromlist=["conf"]).conf.contribs["OPENFLOW"]
# Build matches exactly as specified: no dl_type/nw_proto filled in behind the test's back.
conf_of["prereq_autocomplete"] = False


def _action_end(self, s):
    """Where an action ends: at its length field. scapy 2.5's OpenFlow 1.0 action classes lack
    this, so the first action of a list swallows the others as Raw (a scapy bug, patched here
    and only here; no field decoding is changed). A vendor action's body stays its payload."""
    body = max((self.len or 0) - len(raw(self.__class__())), 0) if self.type == 0xFFFF else 0
    return s[:body], s[body:]


for _cls in of.ofp_action_cls.values():
    _cls.extract_padding = _action_end


def to_json(value):
    if isinstance(value, Packet):
        return layer(value)
    if isinstance(value, FlagValue):
        return int(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if abs(value) < 2 ** 53 else str(value)
    if isinstance(value, (bytes, bytearray)):
        return {"hex": bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if value is None:
        return None
    return str(value)


def layer(pkt):
    fields = {f.name: to_json(pkt.getfieldval(f.name)) for f in pkt.fields_desc}
    payload = pkt.payload
    nested = None if payload is None or len(payload) == 0 and not isinstance(payload, Packet) \
        or payload.__class__.__name__ == "NoPayload" else layer(payload)
    original = pkt.original if isinstance(pkt.original, bytes) else raw(pkt)
    return {"cls": pkt.__class__.__name__, "fields": fields, "payload": nested, "raw": original.hex()}


def from_json(value):
    if isinstance(value, dict) and "cls" in value:
        return build(value)
    if isinstance(value, dict) and "hex" in value:
        return bytes.fromhex(value["hex"])
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def build(spec):
    cls = getattr(of, spec["cls"])
    pkt = cls(**{k: from_json(v) for k, v in spec.get("fields", {}).items()})
    if spec.get("load"):
        pkt = pkt / Raw(bytes.fromhex(spec["load"]))
    return pkt


def answer(request):
    if request["op"] == "dissect":
        return {"ok": True, "tree": layer(of.OpenFlow(bytes.fromhex(request["hex"])))}
    if request["op"] == "build":
        return {"ok": True, "hex": raw(build(request["spec"])).hex()}
    raise ValueError("unknown op " + str(request.get("op")))


for line in sys.stdin:
    if not line.strip():
        continue
    try:
        reply = answer(json.loads(line))
    except Exception as exc:  # reported to the test, which fails on it
        reply = {"ok": False, "error": repr(exc)}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
