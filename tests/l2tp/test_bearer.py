"""ERX-Bearer-Type -> RFC 2661 Bearer Type bits in the OCRQ, checked against tshark's decoding
of the OCRQ the endpoint sends (written to a pcap file; nothing goes on a network)."""
import shutil
import struct
import subprocess

import pytest

from engine.l2tp import L2tpConfig
from engine.l2tp import avp as A
from engine.l2tp import message as M
from engine.l2tp.avp import bearer_type_bits

from .test_endpoints import established, sent
from .wire import LAC_ADDR, LNS_ADDR, pair


def test_erx_bearer_type_mapping():
    assert bearer_type_bits(2) == A.BEARER_DIGITAL == 0x1      # Digital (2): the D bit
    assert bearer_type_bits(1) == A.BEARER_ANALOG == 0x2       # Analog (1): the A bit
    assert bearer_type_bits(0) == 0                            # None (0): neither
    assert bearer_type_bits(None) == 0
    assert bearer_type_bits(7) == 0


def _ocrq_datagram(erx: int) -> bytes:
    lns, lac, w = pair(lac_config=L2tpConfig())
    # no tunnel secret, so the OCRQ's AVPs are not hidden and tshark can decode them
    tid, _ = established(w, lns, secret=None)
    lns.place_outgoing_call(tid, called_number="5551", bearer_type=bearer_type_bits(erx), now=w.now)
    w.run_for(0.5)
    ocrq = sent(w, LNS_ADDR, M.OCRQ)[0]
    assert ocrq.get(A.BEARER_TYPE) == bearer_type_bits(erx)
    return next(d for _, s, _, d in w.log if s == LNS_ADDR and d[0] & 0x80
                and M.decode_control(d).msg_type == M.OCRQ)


def _pcap(payload: bytes, src: tuple, dst: tuple) -> bytes:
    udp = struct.pack("!HHHH", src[1], 1701, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                               bytes(map(int, src[0].split("."))), bytes(map(int, dst[0].split(".")))))
    s = sum(struct.unpack("!10H", bytes(ip)))
    s = (s & 0xFFFF) + (s >> 16)
    ip[10:12] = struct.pack("!H", ~((s & 0xFFFF) + (s >> 16)) & 0xFFFF)
    frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + bytes(ip) + udp
    return (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
            + struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tool: tshark")
@pytest.mark.parametrize("erx,analog,digital", [(2, "0", "1"), (1, "1", "0"), (0, "0", "0")])
def test_ocrq_bearer_type_as_tshark_decodes_it(tmp_path, erx, analog, digital):
    f = tmp_path / "ocrq.pcap"
    f.write_bytes(_pcap(_ocrq_datagram(erx), LNS_ADDR, LAC_ADDR))
    out = subprocess.run(["tshark", "-n", "-r", str(f), "-T", "fields", "-e", "l2tp.avp.analog_bearer_type",
                          "-e", "l2tp.avp.digital_bearer_type"],
                         capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    fields = out.split("\t")
    norm = {"True": "1", "False": "0"}
    assert [norm.get(x, x) for x in fields] == [analog, digital], out
