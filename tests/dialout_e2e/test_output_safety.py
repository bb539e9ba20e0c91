"""Bytes chosen by peers never reach the terminal raw: an L2TP Host Name, a CPE user name, an
LCP Terminate text and a RADIUS Reply-Message full of terminal escapes and newlines, sent by
the lab peers over real sockets, come out of every show and debug line escaped."""
from __future__ import annotations

import unicodedata

import pytest

from jcli.context import Options
from tests.output import printed
from tests.present import present
from tests.router_shell import router_shell

from .helpers import DOMAIN, dialout_reply, framed_route, lac_addresses, standard_lab
from .test_shell import Shell, router_script

pytestmark = pytest.mark.timeout(90)

HOST = "lac\x1b[2J\x1b]0;owned\x07\r\nRouter#"
USER = "cpe\x1b[31m\nFAKE LINE\x9b1m\u202e"
BYE = "bye\x1b[8m\n% fake error\x00"
REPLY = "no\x1b[5m\r\nUser Access Verification\x1b[0m"


def toml_q(text: str) -> str:
    """A TOML basic string with every control character escaped."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or unicodedata.category(c) == "Cf":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def hostile_lab(lacs: list[str]) -> str:
    spec = standard_lab(lacs)
    spec.lns_users = {"USER_TOKEN": ("cpe1-pass", framed_route("10.10.1.0/24")),
                      "cpe2": ("cpe2-pass", framed_route("10.10.2.0/24"))}
    spec.cpes[0]["username"] = "USER_TOKEN"
    spec.cpes[1]["terminate-text"] = "BYE_TOKEN"
    spec.home_users[f"10.10.3.1@{DOMAIN}"] = {**dialout_reply(lacs, "5551003"),
                                             "Reply-Message": "REPLY_TOKEN"}
    text = spec.text()
    text = text.replace('"USER_TOKEN"', toml_q(USER)).replace('"BYE_TOKEN"', toml_q(BYE))
    text = text.replace('"REPLY_TOKEN"', toml_q(REPLY))
    text = text.replace('"host-name" = "lac1"', '"host-name" = ' + toml_q(HOST))
    # the third destination is refused: its user has a password the router never sends
    text = text.replace(f'[radius.users."10.10.3.1@{DOMAIN}".reply]',
                        f'[radius.users."10.10.3.1@{DOMAIN}"]\npassword = "never"\n'
                        f'[radius.users."10.10.3.1@{DOMAIN}".reply]')
    assert toml_q(HOST) in text and toml_q(USER) in text
    return text


def unsafe(line: str) -> list[str]:
    return [c for c in line if c != "\t" and not c.isprintable()]


async def test_peer_strings_are_escaped_in_every_view(tmp_path):
    lacs = lac_addresses(2)
    lab = tmp_path / "lab.toml"
    lab.write_text(hostile_lab(lacs))
    options = Options(lab=str(lab), startup=str(tmp_path / "none.scr"))
    async with router_shell(options) as (ctx, executor, eng):
        sh = Shell(ctx, executor)
        seen: list[str] = []
        ports = {s.spec.name: s.address[1] for s in present(eng.lab).radius}
        assert await executor.run_script(router_script(ports["home"], ports["lns"])), \
            printed(ctx).take()
        printed(ctx).take()
        for kind in ("ppp", "radius", "l2tp", "l2tp dial-out"):
            seen += await sh.run(f"debug {kind}")

        out = await sh.run("ping virtual-router home 10.10.1.1 count 2 timeout 10")
        seen += out
        assert "Success rate = 100% (2/2)" in out[-1], out
        # the CPE hangs up with its Terminate text once IPCP is up
        seen += await sh.run("ping virtual-router home 10.10.2.1 count 1 timeout 2", ok=False)
        # the home server refuses the third destination with its Reply-Message
        seen += await sh.run("ping virtual-router home 10.10.3.1 count 1 timeout 2", ok=False)
        seen += printed(ctx).take()

        views = {}
        for cmd in ("show l2tp tunnel", "show l2tp tunnel brief", "show l2tp session",
                    "show l2tp session brief", "show l2tp destination", "show ppp interface",
                    "show ppp interface brief", "show l2tp dial-out session",
                    "show l2tp dial-out session brief", "show l2tp dial-out target",
                    "show l2tp dial-out virtual-router", "show l2tp dial-out"):
            views[cmd] = await sh.run(cmd)
            seen += views[cmd]
        seen += await sh.run("no debug all")
        seen += printed(ctx).take()

        bad = {line: unsafe(line) for line in seen if unsafe(line)}
        assert not bad, bad
        text = "\n".join(seen)
        # every hostile string arrived and was shown, escaped
        assert "lac\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0aRouter#" in "\n".join(
            views["show l2tp tunnel"]), views["show l2tp tunnel"]
        assert "cpe\\x1b[31m\\x0aFAKE LINE\\x9b1m\\u202e" in "\n".join(
            views["show ppp interface"]), views["show ppp interface"]
        assert "bye\\x1b[8m\\x0a% fake error\\x00" in "\n".join(
            views["show l2tp dial-out session"]), views["show l2tp dial-out session"]
        assert "no\\x1b[5m\\x0d\\x0aUser Access Verification" in text
        assert not any(line.startswith(("% fake", "FAKE", "User Access", "Router#"))
                       for line in seen)
