import glob
import os

import pytest

from tests.cli.transcript import matches, new_session, play

HERE = os.path.dirname(__file__)
FILES = sorted(glob.glob(os.path.join(HERE, "transcripts", "*.txt")))


def test_transcripts_exist():
    assert len(FILES) >= 8


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
async def test_transcript(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    ctx, ex = new_session()
    screen = await play(ctx, ex, text)
    expected = text.splitlines()
    for i, (e, a) in enumerate(zip(expected, screen, strict=False), 1):
        assert matches(e, a), f"{os.path.basename(path)}:{i}: expected {e!r}, got {a!r}"
    assert len(screen) == len(expected), (
        f"{os.path.basename(path)}: {len(expected)} lines expected, {len(screen)} produced; "
        f"first extra: {(screen[len(expected):] or expected[len(screen):])[:3]}")
