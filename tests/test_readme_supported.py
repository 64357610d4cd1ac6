"""The README's list of supported functions is generated from the binding tables and must match."""

from __future__ import annotations

from pathlib import Path

import pytest

from modes.supported import supported_markdown

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- supported:start -->\n", "<!-- supported:end -->"


def test_readme_lists_exactly_what_the_registry_supports() -> None:
    pytest.importorskip("scipy")  # the README lists the scipy.special rules too
    text = README.read_text()
    assert START in text and END in text, "README.md lost its supported-functions markers"
    block = text.split(START, 1)[1].split(END, 1)[0]
    assert block == supported_markdown(), (
        "README.md's supported list is out of date: regenerate it with `python -m modes.supported` "
        "and paste the output between the markers")
