#!/usr/bin/env python3
"""Independent wire check of a capture with tshark: one line per malformed or suspicious packet.

A packet is reported when tshark marks it malformed, gives it an expert message of severity
Warning or Error, or finds a wrong RADIUS response authenticator (checked with the shared
secret).  The capture itself is reported when tshark cannot read it or it holds no packet at
all (an empty capture proves nothing).  RADIUS is decoded on 18120, 18121 and 18130; other ports
are given as tshark ``-d`` arguments, e.g. ``-d udp.port==1701,l2tp``.

    validate_pcap.py FILE.pcap [SECRET] [-d udp.port==N,PROTO ...]

Exit status 0 and a line starting ``OK`` when nothing was found, 1 otherwise, 2 when tshark is
missing.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SECRET = "testing123"
RADIUS_PORTS = (18120, 18121, 18130)
SUSPICIOUS = ('_ws.malformed || _ws.expert.severity >= "Warning" '
              "|| radius.authenticator.invalid == 1")
FIELDS = ("frame.number", "_ws.col.Protocol", "_ws.expert.message", "_ws.col.Info")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    packets: int
    findings: tuple[str, ...]

    def report(self, path: Path | str) -> str:
        if self.ok:
            return f"OK: {self.packets} packets, none malformed or suspicious, in {path}"
        return "\n".join(self.findings)


def _tshark(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("tshark")
    if exe is None:
        raise FileNotFoundError("tshark is not installed")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def validate(path: Path | str, secret: str = DEFAULT_SECRET, decode_as: list[str] | None = None,
             *, timeout: float = 120.0) -> Verdict:
    """Check ``path``; ``decode_as`` holds tshark decode-as values (``udp.port==N,proto``)."""
    common = ["-r", str(path), "-n",
              "-o", f"radius.shared_secret:{secret}", "-o", "radius.validate_authenticator:TRUE"]
    for port in RADIUS_PORTS:
        common += ["-d", f"udp.port=={port},radius"]
    for value in decode_as or []:
        common += ["-d", value]
    count = _tshark([*common, "-T", "fields", "-e", "frame.number"], timeout)
    if count.returncode != 0:
        return Verdict(False, 0, (f"tshark cannot read {path}: {count.stderr.strip()}",))
    packets = len(count.stdout.split())
    if packets == 0:
        return Verdict(False, 0, (f"{path} holds no packet",))
    found = _tshark([*common, "-Y", SUSPICIOUS, "-T", "fields", "-E", "separator=|",
                     *[a for f in FIELDS for a in ("-e", f)]], timeout)
    if found.returncode != 0:
        return Verdict(False, packets, (f"tshark failed on {path}: {found.stderr.strip()}",))
    lines = tuple(line for line in found.stdout.splitlines() if line.strip())
    return Verdict(not lines, packets, lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pcap", type=Path)
    parser.add_argument("secret", nargs="?", default=DEFAULT_SECRET,
                        help="RADIUS shared secret (default %(default)s)")
    parser.add_argument("-d", dest="decode_as", action="append", default=[],
                        metavar="udp.port==N,PROTO", help="tshark decode-as, may repeat")
    args = parser.parse_args(argv)
    try:
        verdict = validate(args.pcap, args.secret, args.decode_as)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(verdict.report(args.pcap))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
