"""Table-driven state machine helper: {(state, event): (next_state, actions)}."""
from __future__ import annotations

from collections.abc import Callable, Iterable

Table = dict[tuple[str, str], tuple[str, tuple[str, ...]]]
Row = tuple[str, tuple[str, ...]]


def complete_table(states: Iterable[str], events: Iterable[str], rows: Table,
                   default: Callable[[str, str], Row]) -> Table:
    """Return rows plus, for every (state, event) pair not listed, the explicit entry default(state,
    event) (a rejection or an 'ignore' row). Every pair of the product is then defined."""
    table: Table = dict(rows)
    for s in states:
        for e in events:
            if (s, e) not in table:
                table[(s, e)] = default(s, e)
    return table


def action_names(table: Table) -> set[str]:
    return {a for _, acts in table.values() for a in acts}
