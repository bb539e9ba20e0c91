"""Value types of the command language.

Each type is described once with pyparsing (the reference grammar, used by the spec compiler
and the tests) and checked on the hot path with a precompiled regex plus range checks.
`token_type(text)` maps a spec token (``A.B.C.D``, ``<1-255>``, ``WORD`` ...) to its type.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyparsing as pp

_octet = pp.Regex(r"25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]")
IPV4_GRAMMAR = pp.Combine(_octet + ("." + _octet) * 3)
PREFIX_GRAMMAR = pp.Combine(IPV4_GRAMMAR + "/" + pp.Regex(r"3[0-2]|[12]?[0-9]"))
RD_GRAMMAR = pp.Combine((IPV4_GRAMMAR | pp.Regex(r"[0-9]{1,10}")) + ":" + pp.Regex(r"[0-9]{1,10}"))
RANGE_SPEC_GRAMMAR = pp.Combine("<" + pp.Word(pp.nums) + "-" + pp.Word(pp.nums) + ">")

# Only ASCII forms are values: `\d` would also accept other scripts' digits (U+0661 ...).
_IPV4_RE = re.compile(r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
                      r"(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\Z", re.ASCII)
_PREFIX_RE = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,3}){3})/([0-9]{1,2})\Z", re.ASCII)
_RD_RE = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9]{1,10}):([0-9]{1,10})\Z", re.ASCII)
_INT_RE = re.compile(r"[0-9]{1,10}\Z", re.ASCII)
# A WORD is printable ASCII without spaces (no control characters, no bytes that were not
# UTF-8, which arrive as lone surrogates), at most WORD_MAX characters.
WORD_MAX = 256
_WORD_RE = re.compile(rf"[!-~]{{1,{WORD_MAX}}}\Z", re.ASCII)
_LINE_RE = re.compile(r"[ -~\t]{1,4096}\Z", re.ASCII)
# What a value may look like while it is still being typed (`?` in the middle of a value).
_PARTIAL = {
    "A.B.C.D": re.compile(r"[0-9]{1,3}(\.[0-9]{0,3}){0,3}\Z", re.ASCII),
    "MASK": re.compile(r"[0-9]{1,3}(\.[0-9]{0,3}){0,3}\Z", re.ASCII),
    "A.B.C.D/M": re.compile(r"[0-9]{1,3}(\.[0-9]{0,3}){0,3}(/[0-9]{0,2})?\Z", re.ASCII),
    "RD": re.compile(r"[0-9.]{1,15}(:[0-9]{0,10})?\Z", re.ASCII),
    "WORD": _WORD_RE,
    "LINE": _LINE_RE,
}
_PARTIAL_INT = re.compile(r"[0-9]{1,10}\Z", re.ASCII)
_VALID_MASKS = {str(ipaddress.IPv4Network(f"0.0.0.0/{n}").netmask) for n in range(33)}


@dataclass(frozen=True, slots=True)
class TokenType:
    """A value type: `check(word)` -> converted value or None when the word does not fit;
    `partial(word)` tells whether the word could still become valid (for caret placement)."""
    name: str          # spec text, e.g. "A.B.C.D" or "<1-255>"
    display: str       # what `?` shows
    check: Callable[[str], Any]
    generic: bool = False   # WORD/LINE: matches anything, loses against specific matches
    rest_of_line: bool = False

    def could_be(self, word: str) -> bool:
        """Whether `word` is the beginning of a value of this type."""
        if self.check(word) is not None:
            return True
        rx = _PARTIAL.get(self.name, _PARTIAL_INT)
        return rx.match(word) is not None


def _check_ipv4(word: str):
    return word if _IPV4_RE.match(word) else None


def _check_mask(word: str):
    return word if word in _VALID_MASKS else None


def _check_prefix(word: str):
    m = _PREFIX_RE.match(word)
    if not m or not _IPV4_RE.match(m.group(1)) or int(m.group(2)) > 32:
        return None
    return word


def _check_rd(word: str):
    m = _RD_RE.match(word)
    if not m:
        return None
    left, right = m.groups()
    if "." in left:
        if not _IPV4_RE.match(left) or int(right) > 0xFFFF:
            return None
    elif int(left) > 0xFFFFFFFF or int(right) > (0xFFFF if int(left) > 0xFFFF else 0xFFFFFFFF):
        return None
    return word


def _check_word(word: str):
    return word if _WORD_RE.match(word) else None


def _check_line(text: str):
    return text if _LINE_RE.match(text) else None


def range_type(lo: int, hi: int) -> TokenType:
    def check(word: str, lo=lo, hi=hi):
        if _INT_RE.match(word):
            v = int(word)
            if lo <= v <= hi:
                return v
        return None
    return TokenType(f"<{lo}-{hi}>", f"<{lo}-{hi}>", check)


_FIXED = {
    "A.B.C.D": TokenType("A.B.C.D", "A.B.C.D", _check_ipv4),
    "MASK": TokenType("MASK", "A.B.C.D", _check_mask),
    "A.B.C.D/M": TokenType("A.B.C.D/M", "A.B.C.D/M", _check_prefix),
    "RD": TokenType("RD", "ASN:NN|A.B.C.D:NN", _check_rd),
    "WORD": TokenType("WORD", "WORD", _check_word, generic=True),
    "LINE": TokenType("LINE", "LINE", _check_line, generic=True, rest_of_line=True),
}
_range_cache: dict[str, TokenType] = {}


def is_type_token(text: str) -> bool:
    return text in _FIXED or text.startswith("<")


def token_type(text: str) -> TokenType:
    t = _FIXED.get(text)
    if t is not None:
        return t
    t = _range_cache.get(text)
    if t is None:
        res = RANGE_SPEC_GRAMMAR.parse_string(text, parse_all=True)[0]
        lo, hi = (int(x) for x in res[1:-1].split("-"))
        if lo > hi:
            raise ValueError(f"bad range {text}")
        t = _range_cache[text] = range_type(lo, hi)
    return t
