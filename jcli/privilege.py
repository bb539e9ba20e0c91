"""What user exec (`host1>`) may run: the harmless shows, navigation and ping. Everything that
changes the router, reveals secrets or the configuration needs privileged exec (`enable`)."""
from __future__ import annotations

from typing import Any

# shows that reveal the configuration (keys, account hashes) or the event log
USER_EXEC_HIDDEN = frozenset({"show configuration", "show running-configuration", "show logging"})


def user_exec_allows(cmd: Any) -> bool:
    words = " ".join(n.word for n in cmd.spec.nodes[:2] if n.word)
    return words not in USER_EXEC_HIDDEN
