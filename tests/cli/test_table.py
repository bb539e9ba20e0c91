"""`show` tables: a dashed header line, columns two spaces apart, as wide as their widest cell
or header, no number formatting, no trailing blanks."""
from __future__ import annotations

import random
import string

from jcli.views import table


def _reference(headers: list[str], rows: list[list[object]]) -> list[str]:
    cells = [["" if v is None else str(v).strip() for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells]
    return "\n".join(out).splitlines()        # a blank last row is not printed


def test_header_wider_than_cells_gets_no_extra_padding() -> None:
    assert table(["Name", "State", "Sessions"], [["a", "up", 1], ["bb", "down", 10]]) == [
        "Name  State  Sessions",
        "----  -----  --------",
        "a     up     1",
        "bb    down   10",
    ]


def test_cells_wider_than_header_and_numbers_kept_as_written() -> None:
    assert table(["Id", "Peer"], [["0001", "192.0.2.1"], [None, "1e5"], ["1.50", ""]]) == [
        "Id    Peer",
        "----  ---------",
        "0001  192.0.2.1",
        "      1e5",
        "1.50",
    ]


def test_blank_rows_keep_their_line_except_the_last() -> None:
    assert table(["a", "b"], [["", None], ["x", "y"], [None, ""]]) == ["a  b", "-  -", "", "x  y"]


def test_no_rows_prints_the_header() -> None:
    assert table(["Virtual router", "Prefix"], []) == [
        "Virtual router  Prefix",
        "--------------  ------",
    ]


def test_random_tables_match_the_layout() -> None:
    rng = random.Random(5)
    alphabet = string.ascii_letters + string.digits + ".-:/()%"
    for _ in range(300):
        ncols = rng.randint(1, 6)
        headers = ["".join(rng.choices(alphabet, k=rng.randint(1, 12))) for _ in range(ncols)]
        rows: list[list[object]] = [
            [rng.choice([None, rng.randint(-5, 10**6), rng.random(),
                         "".join(rng.choices(alphabet, k=rng.randint(0, 20)))])
             for _ in range(ncols)]
            for _ in range(rng.randint(0, 6))]
        assert table(headers, rows) == _reference(headers, rows), (headers, rows)
