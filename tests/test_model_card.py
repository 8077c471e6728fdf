"""A model card starts with three plain lines; the numbers and configuration are folded."""

from __future__ import annotations

import pytest

from pianoplay.models.registry import Registry
from pianoplay.ui.model_card import card_markdown


@pytest.mark.parametrize("name", Registry().names())
def test_card_starts_with_three_plain_lines(name):
    card = card_markdown(Registry().info(name))
    head, folded = card.split("<details>", 1)
    lines = [x.strip() for x in head.splitlines() if x.strip()]
    assert lines[0] == f"## {name}"
    assert [x.split(":**")[0] for x in lines[1:]] == [
        "**What it is for", "**Trained on", "**What to expect"]
    assert all(len(x) < 220 and "|" not in x and "{" not in x for x in lines[1:]), lines
    assert "data not recorded" not in head and "model." not in lines[1], lines
    assert folded.rstrip().endswith("</details>") and "<summary>Details" in folded
    assert card.count(f"# {name}\n") == 1  # the README's own title is not repeated
