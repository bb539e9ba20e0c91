"""Codec: hand-computed vectors, hidden AVPs, limits, round trips, sequence arithmetic."""
import hashlib
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.l2tp import avp as A
from engine.l2tp import message as M
from engine.l2tp.avp import Accm, Avp, CallErrors, Q931Cause, ResultCode
from engine.l2tp.errors import ERR_UNKNOWN_MANDATORY_AVP, L2tpProtocolError
from engine.l2tp.seq import seq_add, seq_diff, seq_le, seq_lt


def test_zlb_vector():
    data = M.encode_control(0, 1, 0, 2, 3)
    assert data == bytes.fromhex("c802000c0001000000020003")
    m = M.decode_control(data)
    assert m.is_zlb and (m.tunnel_id, m.session_id, m.ns, m.nr) == (1, 0, 2, 3)


def test_hello_vector():
    data = M.encode_control(M.HELLO, 0x1234, 0, 7, 9)
    assert data == bytes.fromhex("c80200141234000000070009" "800800000000" "0006")
    m = M.decode_control(data)
    assert m.msg_type == M.HELLO and m.avps[0].value == M.HELLO


def test_stopccn_vector():
    avps = [Avp.make(A.ASSIGNED_TUNNEL_ID, 0xABCD), Avp.make(A.RESULT_CODE, ResultCode(1))]
    data = M.encode_control(M.STOPCCN, 5, 0, 1, 1, avps)
    assert data == bytes.fromhex(
        "c802" "0024" "0005" "0000" "0001" "0001"
        "8008" "0000" "0000" "0004"          # Message Type = StopCCN
        "8008" "0000" "0009" "abcd"          # Assigned Tunnel ID
        "8008" "0000" "0001" "0001")         # Result Code 1
    m = M.decode_control(data)
    assert m.get(A.RESULT_CODE) == ResultCode(1) and m.get(A.ASSIGNED_TUNNEL_ID) == 0xABCD


def test_result_code_with_error_and_message():
    avps = [Avp.make(A.ASSIGNED_TUNNEL_ID, 1), Avp.make(A.RESULT_CODE, ResultCode(2, 8, "x"))]
    data = M.encode_control(M.STOPCCN, 5, 0, 1, 1, avps)
    assert data.endswith(bytes.fromhex("800b000000010002000878"))
    assert M.decode_control(data).get(A.RESULT_CODE) == ResultCode(2, 8, "x")


def _md5(b):
    return hashlib.md5(b).digest()


def test_hidden_avp_vector():
    secret, rv = b"secret", bytes(range(16))
    # Called Number "5551001", hidden: subformat = length(2) || value, xor with MD5(type || secret || RV)
    plain = b"\x00\x07" + b"5551001"
    key = _md5(b"\x00\x15" + secret + rv)
    expected_value = bytes(p ^ k for p, k in zip(plain, key, strict=False))
    avps = [Avp.make(A.CALLED_NUMBER, "5551001", hidden=True)]
    data = M.encode_control(M.OCRQ, 1, 0, 0, 0, avps, secret=secret, random_vector=rv)
    rv_avp = bytes.fromhex("8016" "0000" "0024") + rv
    hidden_avp = struct.pack("!HHH", 0x8000 | 0x4000 | (6 + 9), 0, 21) + expected_value
    assert data[20:] == rv_avp + hidden_avp
    body = M.decode_header(data)
    avps_out, _ = A.decode_avps(data, 12, body.end, secret=secret, max_avps=10)
    called = [a for a in avps_out if a.attr == A.CALLED_NUMBER][0]
    assert called.value == "5551001" and called.hidden


def test_hidden_long_value_chains_md5():
    secret, rv = b"k", b"\x01" * 16
    value = bytes(range(40))
    h = A.hide_value(A.PRIVATE_GROUP_ID, value, secret, rv)
    plain = struct.pack("!H", 40) + value
    b1 = _md5(struct.pack("!H", A.PRIVATE_GROUP_ID) + secret + rv)
    c1 = bytes(x ^ y for x, y in zip(plain[:16], b1, strict=False))
    b2 = _md5(secret + c1)
    c2 = bytes(x ^ y for x, y in zip(plain[16:32], b2, strict=False))
    assert h[:16] == c1 and h[16:32] == c2
    assert A.unhide_value(A.PRIVATE_GROUP_ID, h, secret, rv) == value
    # with padding
    h2 = A.hide_value(A.PRIVATE_GROUP_ID, value, secret, rv, padding=b"\xaa" * 6)
    assert A.unhide_value(A.PRIVATE_GROUP_ID, h2, secret, rv) == value


def test_hidden_without_secret_is_protocol_error():
    data = M.encode_control(M.OCRQ, 1, 0, 0, 0, [Avp.make(A.CALLED_NUMBER, "1", hidden=True)],
                            secret=b"s", random_vector=b"r" * 16)
    with pytest.raises(L2tpProtocolError):
        M.decode_control(data, secret=None)


def test_unknown_mandatory_avp_is_fatal_error_8():
    data = M.encode_control(M.HELLO, 1, 0, 0, 0, [Avp(200, b"xx", vendor=0, mandatory=True)])
    with pytest.raises(L2tpProtocolError) as ei:
        M.decode_control(data)
    assert ei.value.error == ERR_UNKNOWN_MANDATORY_AVP and ei.value.fatal and ei.value.msg_type == M.HELLO


def test_unknown_optional_and_vendor_avps_ignored():
    data = M.encode_control(M.HELLO, 1, 0, 0, 0, [Avp(200, b"xx", 0, False), Avp(7, b"v", 4874, False)])
    m = M.decode_control(data)
    assert m.msg_type == M.HELLO and len(m.ignored_avps) == 2
    assert m.ignored_avps[1].vendor == 4874 and m.ignored_avps[1].value == b"v"


def test_vendor_mandatory_avp_is_fatal():
    data = M.encode_control(M.HELLO, 1, 0, 0, 0, [Avp(7, b"v", 4874, True)])
    with pytest.raises(L2tpProtocolError) as ei:
        M.decode_control(data)
    assert ei.value.error == 8


def test_missing_mandatory_avp_in_ocrq():
    data = M.encode_control(M.OCRQ, 1, 0, 0, 0, [Avp.make(A.ASSIGNED_SESSION_ID, 3)])
    with pytest.raises(L2tpProtocolError) as ei:
        M.decode_control(data)
    assert ei.value.fatal and ei.value.msg_type == M.OCRQ


@pytest.mark.parametrize("data", [
    b"", b"\xc8", bytes.fromhex("c802000b0001000000020003"),        # length < 12
    bytes.fromhex("c803000c0001000000020003"),                      # version 3
    bytes.fromhex("c002000c0001000000020003"),                      # control without S
    bytes.fromhex("c802000d0001000000020003"),                      # length > datagram
    bytes.fromhex("c80200140001000000020003800800000000"),          # truncated
    bytes.fromhex("c802001400010000000200038009000000000006"),      # first AVP length 9 (bad)
    bytes.fromhex("c802001400010000000200030008000000070006"),      # first AVP not message type
])
def test_malformed_raises_protocol_error(data):
    with pytest.raises(L2tpProtocolError):
        M.decode_control(data)


def test_limits():
    many = [Avp(300 + i, b"", 0, False) for i in range(100)]
    data = M.encode_control(M.HELLO, 1, 0, 0, 0, many)
    with pytest.raises(L2tpProtocolError):
        M.decode_control(data, max_avps=64)
    assert M.decode_control(data, max_avps=200).msg_type == M.HELLO
    with pytest.raises(L2tpProtocolError):
        M.decode_control(data, max_len=100)


def test_data_message_encodings():
    d = M.encode_data(1, 2, b"\xff\x03\xc0\x21")
    assert d == bytes.fromhex("000200010002ff03c021")
    full = M.encode_data(1, 2, b"PPP", length=True, ns=5, nr=6, offset=2, priority=True)
    assert full == bytes.fromhex("4b02" "0013" "0001" "0002" "0005" "0006" "0002" "0000") + b"PPP"
    m = M.decode_data(full)
    assert (m.tunnel_id, m.session_id, m.payload, m.ns, m.nr, m.priority) == (1, 2, b"PPP", 5, 6, True)


def test_every_ietf_avp_round_trips():
    samples = {"u16": 0xBEEF, "u32": 0xDEADBEEF, "str": "name", "bytes": b"\x00\x01", "fixed8": b"12345678",
               "fixed16": b"0123456789abcdef", "u8pair": (1, 0), "result": ResultCode(2, 6, "why"),
               "q931": Q931Cause(17, 0x5A, "busy"), "call_errors": CallErrors(1, 2, 3, 4, 5, 6),
               "accm": Accm(0xFFFFFFFF, 0), "empty": True}
    assert sorted(A.AVP_TYPES) == [t for t in range(40) if t != 20]
    secret, rv = b"s", b"r" * 16
    avps = [Avp.make(t.code, samples[t.kind], hidden=t.hideable) for t in A.AVP_TYPES.values()
            if t.code not in (A.MESSAGE_TYPE, A.RANDOM_VECTOR)]
    data = M.encode_control(M.HELLO, 1, 0, 0, 0, avps, secret=secret, random_vector=rv)
    m = M.decode_control(data, secret=secret)
    got = {a.attr: a.value for a in m.avps}
    for a in avps:
        assert got[a.attr] == a.value, A.AVP_TYPES[a.attr].name


_value = {
    "u16": st.integers(0, 0xFFFF), "u32": st.integers(0, 0xFFFFFFFF), "str": st.text(max_size=40),
    "bytes": st.binary(max_size=40), "fixed8": st.binary(min_size=8, max_size=8),
    "fixed16": st.binary(min_size=16, max_size=16), "u8pair": st.tuples(st.integers(0, 255), st.integers(0, 255)),
    "result": st.builds(ResultCode, st.integers(0, 0xFFFF), st.one_of(st.none(), st.integers(0, 0xFFFF)),
                        st.none()),
    "q931": st.builds(Q931Cause, st.integers(0, 0xFFFF), st.integers(0, 255), st.none()),
    "call_errors": st.builds(CallErrors, *[st.integers(0, 0xFFFFFFFF)] * 6),
    "accm": st.builds(Accm, st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF)),
    "empty": st.just(True),
}
_types = [t for t in A.AVP_TYPES.values() if t.code not in (A.MESSAGE_TYPE, A.RANDOM_VECTOR)]


@st.composite
def _avp(draw):
    t = draw(st.sampled_from(_types))
    return Avp(t.code, draw(_value[t.kind]), 0, draw(st.booleans()), t.hideable and draw(st.booleans()))


@settings(max_examples=200, deadline=None)
@given(avps=st.lists(_avp(), max_size=12), mt=st.sampled_from(sorted(M.MESSAGE_NAMES)),
       tid=st.integers(0, 0xFFFF), sid=st.integers(0, 0xFFFF), ns=st.integers(0, 0xFFFF), nr=st.integers(0, 0xFFFF),
       secret=st.binary(min_size=1, max_size=20), rv=st.binary(min_size=1, max_size=32))
def test_control_round_trip(avps, mt, tid, sid, ns, nr, secret, rv):
    data = M.encode_control(mt, tid, sid, ns, nr, avps, secret=secret, random_vector=rv)
    h = M.decode_header(data)
    out, _ = A.decode_avps(data, 12, h.end, secret=secret, max_avps=64)
    assert [(a.attr, a.value, a.mandatory, a.hidden) for a in out if a.attr not in (0, 36)] == \
        [(a.attr, a.value, a.mandatory, a.hidden) for a in avps]
    assert (h.tunnel_id, h.session_id, h.ns, h.nr) == (tid, sid, ns, nr)


@settings(max_examples=200, deadline=None)
@given(payload=st.binary(max_size=200), length=st.booleans(), seq=st.booleans(),
       offset=st.one_of(st.none(), st.integers(0, 8)), prio=st.booleans())
def test_data_round_trip(payload, length, seq, offset, prio):
    d = M.encode_data(7, 8, payload, length=length, ns=3 if seq else None, nr=4 if seq else None,
                      offset=offset, priority=prio)
    m = M.decode_data(d)
    assert m.payload == payload and (m.tunnel_id, m.session_id) == (7, 8)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_never_escape(data):
    try:
        M.decode_control(data, secret=b"x")
    except L2tpProtocolError:
        pass
    try:
        M.decode_data(data)
    except L2tpProtocolError:
        pass


def test_mutations_never_escape():
    rng = random.Random(3)
    base = M.encode_control(M.OCRQ, 1, 0, 0, 0, [
        Avp.make(A.ASSIGNED_SESSION_ID, 3), Avp.make(A.CALL_SERIAL_NUMBER, 1), Avp.make(A.MINIMUM_BPS, 0),
        Avp.make(A.MAXIMUM_BPS, 1), Avp.make(A.BEARER_TYPE, 1), Avp.make(A.FRAMING_TYPE, 1),
        Avp.make(A.CALLED_NUMBER, "123", hidden=True)], secret=b"x", random_vector=b"r" * 16)
    for _ in range(3000):
        b = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            M.decode_control(bytes(b), secret=b"x")
        except L2tpProtocolError:
            pass


def test_sequence_arithmetic_wraps():
    assert seq_add(65535, 1) == 0
    assert seq_lt(65535, 0) and not seq_lt(0, 65535)
    assert seq_lt(65530, 5) and seq_le(5, 5)
    assert seq_diff(2, 65534) == 4
    assert not seq_lt(0, 0x8000) and seq_lt(0, 0x7FFF)
