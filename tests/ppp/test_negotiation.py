"""LCP/IPCP negotiation against a scripted raw peer; codec vectors; malformed input."""
import hashlib

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.ppp import LinkDown, LinkUp
from engine.ppp import frames as F
from engine.ppp.chap import chap_md5, parse_value
from engine.ppp.fsm import State
from engine.ppp.pap import build_request, parse_request
from tests.present import present

from .harness import link


def lcp(code, ident, data=b""):
    return F.build_packet(F.PROTO_LCP, code, ident, data)


def parsed(frames):
    out = []
    for f in frames:
        proto, info = present(F.split_frame(f))
        code, ident, data = present(F.parse_packet(info))
        out.append((proto, code, ident, data))
    return out


def opened_lcp(**kw):
    """A link whose LCP is in Req-Sent with its request taken out."""
    a = link(1, **kw)
    a.open(now=0.0)
    (req,) = parsed(a.frames_to_send())
    assert req[:2] == (F.PROTO_LCP, F.CONF_REQ)
    return a, req


def test_reject_mrru_and_endpoint_discriminator():
    a, _ = opened_lcp()
    opts = F.build_options([(1, b"\x05\xdc"), (17, b"\x05\xd4"), (19, b"\x01abcd"),
                            (5, b"\x11\x22\x33\x44")])
    a.receive_frame(lcp(F.CONF_REQ, 42, opts), now=0.1)
    ((proto, code, ident, data),) = parsed(a.frames_to_send())
    assert (proto, code, ident) == (F.PROTO_LCP, F.CONF_REJ, 42)
    assert present(F.parse_options(data)) == [(17, b"\x05\xd4"), (19, b"\x01abcd")]
    # the peer drops them: acked
    a.receive_frame(lcp(F.CONF_REQ, 43, F.build_options([(1, b"\x05\xdc"),
                                                         (5, b"\x11\x22\x33\x44")])), now=0.2)
    ((_, code, ident, _),) = parsed(a.frames_to_send())
    assert (code, ident) == (F.CONF_ACK, 43)
    assert a.lcp.state == State.ACK_SENT


def test_nak_loop_reaches_max_failure_then_reject():
    a, _ = opened_lcp(max_failure=5)
    codes = []
    for i in range(8):
        # a stubborn peer keeps asking for an MRU below the minimum
        a.receive_frame(lcp(F.CONF_REQ, 100 + i, b"\x01\x04\x00\x40"), now=0.1 * i)
        codes += [c for _, c, _, _ in parsed(a.frames_to_send())]
    assert codes == [F.CONF_NAK] * 5 + [F.CONF_REJ] * 3


def test_nak_counter_resets_on_ack():
    a, _ = opened_lcp(max_failure=2)
    a.receive_frame(lcp(F.CONF_REQ, 1, b"\x01\x04\x00\x40"), now=0)
    a.receive_frame(lcp(F.CONF_REQ, 2, b"\x01\x04\x05\xdc"), now=0)
    a.receive_frame(lcp(F.CONF_REQ, 3, b"\x01\x04\x00\x40"), now=0)
    a.receive_frame(lcp(F.CONF_REQ, 4, b"\x01\x04\x00\x40"), now=0)
    codes = [c for _, c, _, _ in parsed(a.frames_to_send())]
    assert codes == [F.CONF_NAK, F.CONF_ACK, F.CONF_NAK, F.CONF_NAK]


def test_peer_naks_forever_closes():
    a, req = opened_lcp(max_configure=4)
    for _ in range(10):
        ident = a.lcp.req_id
        a.receive_frame(lcp(F.CONF_NAK, ident, b"\x01\x04\x02\x00"), now=0)
        if a.lcp.state == State.CLOSING:
            break
    assert a.lcp.state == State.CLOSING
    assert a.down_reason == "configuration not converging"


def test_wrong_identifier_ack_ignored():
    a, req = opened_lcp()
    a.receive_frame(lcp(F.CONF_ACK, (req[2] + 1) & 0xFF, req[3]), now=0)
    assert a.lcp.state == State.REQ_SENT
    a.receive_frame(lcp(F.CONF_ACK, req[2], req[3] + b"\x07\x02"), now=0)   # altered options
    assert a.lcp.state == State.REQ_SENT
    a.receive_frame(lcp(F.CONF_ACK, req[2], req[3]), now=0)
    assert a.lcp.state == State.ACK_RCVD


def test_auth_protocol_nak_with_allowed_or_reject():
    chap = F.build_options([(3, b"\xc2\x23\x05")])
    mschap = F.build_options([(3, b"\xc2\x23\x81")])
    a, _ = opened_lcp(auth_protocols_allowed=("pap",))
    a.receive_frame(lcp(F.CONF_REQ, 1, chap), now=0)
    ((_, code, _, data),) = parsed(a.frames_to_send())
    assert code == F.CONF_NAK and data == b"\x03\x04\xc0\x23"
    b, _ = opened_lcp(auth_protocols_allowed=("chap", "pap"))
    b.receive_frame(lcp(F.CONF_REQ, 1, mschap), now=0)
    ((_, code, _, data),) = parsed(b.frames_to_send())
    assert code == F.CONF_NAK and data == b"\x03\x05\xc2\x23\x05"
    c, _ = opened_lcp(auth_protocols_allowed=None)
    c.receive_frame(lcp(F.CONF_REQ, 1, chap), now=0)
    ((_, code, _, data),) = parsed(c.frames_to_send())
    assert code == F.CONF_REJ and data == chap


def test_magic_collision_is_naked():
    a, req = opened_lcp()
    magic = a.lcp_policy.want_magic.to_bytes(4, "big")
    a.receive_frame(lcp(F.CONF_REQ, 9, b"\x05\x06" + magic), now=0)
    ((_, code, _, data),) = parsed(a.frames_to_send())
    assert code == F.CONF_NAK and data[:2] == b"\x05\x06" and data[2:] != magic


def test_our_request_and_mru():
    a, req = opened_lcp(mru=1400, auth_protocols_required=("chap",), pfc=True, acfc=True)
    opts = dict(present(F.parse_options(req[3])))
    assert opts[1] == (1400).to_bytes(2, "big")
    assert opts[3] == b"\xc2\x23\x05"
    assert len(opts[5]) == 4 and opts[7] == b"" and opts[8] == b""


def test_code_reject_and_echo_and_discard_when_opened():
    a, req = opened_lcp()
    a.receive_frame(lcp(F.CONF_REQ, 1, b""), now=0)
    a.receive_frame(lcp(F.CONF_ACK, req[2], req[3]), now=0)
    a.frames_to_send()
    assert isinstance(a.next_event(), LinkUp)
    a.receive_frame(lcp(F.ECHO_REQ, 5, b"\x01\x02\x03\x04data"), now=0)
    a.receive_frame(lcp(F.DISCARD_REQ, 6, b"\x01\x02\x03\x04"), now=0)
    a.receive_frame(lcp(77, 7, b"zz"), now=0)
    out = parsed(a.frames_to_send())
    assert out[0][1:3] == (F.ECHO_REP, 5)
    assert out[0][3] == a.lcp_policy.want_magic.to_bytes(4, "big") + b"data"
    assert out[1][1] == F.CODE_REJ and out[1][3] == bytes((77, 7, 0, 6)) + b"zz"
    assert len(out) == 2
    # a Code-Reject of Echo is harmless, of Configure-Request is catastrophic
    a.receive_frame(lcp(F.CODE_REJ, 8, bytes((9, 1, 0, 4))), now=0)
    assert a.lcp.state == State.OPENED
    a.receive_frame(lcp(F.CODE_REJ, 9, bytes((1, 1, 0, 4))), now=0)
    assert a.lcp.state == State.STOPPING


def test_chap_md5_rfc1994_definition():
    ident, secret, challenge = 0x2A, b"lns-pass", bytes(range(16))
    expected = hashlib.md5(b"\x2a" + b"lns-pass" + bytes(range(16))).digest()
    assert chap_md5(ident, secret, challenge) == expected
    assert expected.hex() == chap_md5(0x2A, b"lns-pass", bytes(range(16))).hex()
    # a fixed vector (MD5 of 0x01 ‖ "secret" ‖ 0x00..0x0f), independent of the code above
    assert chap_md5(1, b"secret", bytes(range(16))).hex() == \
        hashlib.md5(bytes.fromhex("01736563726574000102030405060708090a0b0c0d0e0f")).hexdigest()
    assert present(parse_value(b"\x03abcNAME")) == (b"abc", b"NAME")
    assert parse_value(b"\x05ab") is None and parse_value(b"") is None


def test_pap_encoding():
    assert build_request(b"cpe", b"pw") == b"\x03cpe\x02pw"
    assert present(parse_request(b"\x03cpe\x02pw")) == (b"cpe", b"pw")
    assert parse_request(b"\x09cpe") is None and parse_request(b"\x03cpe\x05pw") is None


def test_frames_codec():
    assert present(F.split_frame(b"\xff\x03\xc0\x21\x01")) == (0xC021, b"\x01")
    assert present(F.split_frame(b"\xc0\x21\x01")) == (0xC021, b"\x01")
    assert F.split_frame(b"\xff\x05\xc0\x21") is None
    assert F.split_frame(b"\x21abc") is None
    assert present(F.split_frame(b"\x21abc", pfc=True)) == (0x21, b"abc")
    assert F.split_frame(b"\xc0\x20") is None            # even low octet
    assert present(F.parse_packet(b"\x01\x02\x00\x06abpadding")) == (1, 2, b"ab")
    assert F.parse_packet(b"\x01\x02\x00\x09ab") is None
    assert present(F.parse_options(b"\x01\x04\x05\xdc\x07\x02")) == [(1, b"\x05\xdc"), (7, b"")]
    assert F.parse_options(b"\x01\x01") is None
    assert F.parse_options(b"\x01\x09abc") is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([0xC021, 0xC023, 0xC223, 0x8021, 0x0021]))
def test_malformed_input_never_raises(junk, proto):
    a = link(1, auth_protocols_required=("chap",), auth_protocols_allowed=("pap", "chap"),
             local_ip="10.0.0.1", peer_ip="10.0.0.2")
    a.open(now=0.0)
    a.receive_frame(junk, now=0.1)
    a.receive_frame(F.build_frame(proto, junk), now=0.2)
    a.receive_frame(F.build_frame(proto, junk[:2] + b"\x00\x04" + junk[4:]), now=0.3)
    a.frames_to_send()
    a.snapshot()
    assert a.rx_frames == 3


def test_malformed_counted():
    a = link(1)
    a.open(now=0)
    a.receive_frame(b"", now=0)
    a.receive_frame(b"\xff\x03\xc0\x21\x01\x01\x00\x20", now=0)     # length past end
    a.receive_frame(b"\xff\x03\xc0\x21\x01\x01\x00\x08\x01\x09\x00\x00", now=0)  # bad option
    s = a.snapshot().counters
    assert s.errors == 3 and s.rx_frames == 3
    assert not isinstance(a.next_event(), LinkDown)


def test_mschap_request_naked_with_chap_md5_even_if_pap_preferred():
    a, _ = opened_lcp(auth_protocols_allowed=("pap", "chap"))
    a.receive_frame(lcp(F.CONF_REQ, 1, F.build_options([(3, b"\xc2\x23\x81")])), now=0)
    ((_, code, _, data),) = parsed(a.frames_to_send())
    assert code == F.CONF_NAK and data == b"\x03\x05\xc2\x23\x05"



def _opened_pair():
    from .test_link import CPE, LNS, run_pair
    a, b, w = run_pair(LNS, CPE)
    assert a.network_up
    return a, b, w


@settings(max_examples=300, deadline=None)
@example([(0x8021, 3, 200, b"\x03\x03\x00")])
@given(st.lists(st.tuples(st.sampled_from([0xC021, 0xC023, 0xC223, 0x8021, 0x0021, 0x0057]),
                          st.integers(0, 12), st.integers(0, 255), st.binary(max_size=40)),
                max_size=6))
def test_fuzz_opened_link_no_internal_error(packets):
    import logging

    class Catch(logging.Handler):
        def __init__(self):
            super().__init__(logging.ERROR)
            self.records = []

        def emit(self, record):
            self.records.append(record)

    h = Catch()
    logging.getLogger("engine.ppp").addHandler(h)
    try:
        a, b, w = _opened_pair()
        for proto, code, ident, data in packets:
            for link, strip in ((a, 0), (b, 2)):
                i = ident
                if ident >= 128:       # half of the time: the identifier the link expects
                    i = (link.ipcp if proto == 0x8021 else link.lcp).req_id
                link.receive_frame(F.build_packet(proto, code, i, data)[strip:], now=w.now)
            w.settle()
        a.snapshot()
        b.snapshot()
    finally:
        logging.getLogger("engine.ppp").removeHandler(h)
    assert h.records == []


def test_mru_nak_adopted():
    a, req = opened_lcp(mru=1400)
    a.receive_frame(lcp(F.CONF_NAK, req[2], b"\x01\x04\x05\x00"), now=0)
    ((_, code, _, data),) = parsed(a.frames_to_send())
    assert code == F.CONF_REQ and (1, b"\x05\x00") in present(F.parse_options(data))
    a.receive_frame(lcp(F.CONF_NAK, a.lcp.req_id, b"\x01\x04\x05\xdc"), now=0)
    ((_, code, _, data),) = parsed(a.frames_to_send())
    assert 1 not in dict(present(F.parse_options(data))) and a.snapshot().mru == 1500


def _opened_lcp():
    a = link(1)
    a.open(now=0.0)
    (req,) = [present(F.parse_packet(present(F.split_frame(f))[1])) for f in a.frames_to_send()]
    peer_req = F.build_packet(F.PROTO_LCP, F.CONF_REQ, 9, b"\x05\x06\x01\x02\x03\x04")
    a.receive_frame(peer_req, now=0.0)
    ack = F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[1], req[2])
    a.receive_frame(ack, now=0.0)
    a.frames_to_send()
    assert a.lcp.state.name == "OPENED"
    return a, peer_req, ack


def test_repeated_configure_request_after_our_lost_ack_is_acked_again():
    # the peer never got our Configure-Ack and repeats its request unchanged: Ack it again,
    # do not tear the link down and renegotiate
    a, peer_req, _ack = _opened_lcp()
    a.receive_frame(peer_req, now=3.0)
    out = [present(F.parse_packet(present(F.split_frame(f))[1])) for f in a.frames_to_send()]
    assert out == [(F.CONF_ACK, 9, b"\x05\x06\x01\x02\x03\x04")]
    assert a.lcp.state.name == "OPENED"
    # a new request (new Identifier) is a renegotiation (RFC 1661 RCR in Opened)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 10, b"\x05\x06\x01\x02\x03\x04"),
                    now=4.0)
    assert a.lcp.state.name == "ACK_SENT"


def test_duplicate_configure_ack_is_discarded():
    a, _req, ack = _opened_lcp()
    a.receive_frame(ack, now=1.0)           # duplicated on the wire
    assert a.lcp.state.name == "OPENED" and a.frames_to_send() == []


def test_identifier_changes_after_a_valid_reply():
    # Ack-Rcvd, then the restart timer: the request goes again, with a new Identifier
    # (RFC 1661 §5.1: it MUST change once a valid reply was received)
    a = link(1)
    a.open(now=0.0)
    (req,) = [present(F.parse_packet(present(F.split_frame(f))[1])) for f in a.frames_to_send()]
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[1], req[2]), now=0.1)
    assert a.lcp.state.name == "ACK_RCVD"
    a.handle_timer(now=present(a.get_timer()))
    (again,) = [present(F.parse_packet(present(F.split_frame(f))[1])) for f in a.frames_to_send()]
    assert again[0] == F.CONF_REQ and again[1] == (req[1] + 1) & 0xFF
