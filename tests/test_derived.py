"""Cached values derived from weights are rebuilt when the weights change."""

from __future__ import annotations

import torch

from pianoplay.models.derived import derived


def test_rebuilt_after_an_optimiser_step_and_not_before():
    layer = torch.nn.Linear(3, 2)
    calls = []

    def build():
        calls.append(1)
        return layer.weight.detach().clone()

    first = derived(layer, "_w", build)
    assert derived(layer, "_w", build) is first and len(calls) == 1
    layer(torch.ones(1, 3)).sum().backward()
    torch.optim.SGD(layer.parameters(), lr=0.1).step()
    again = derived(layer, "_w", build)
    assert len(calls) == 2 and not torch.equal(again, first)
    assert torch.equal(again, layer.weight)
