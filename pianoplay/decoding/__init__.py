"""Decoding strategies, written once over a step function (see :mod:`pianoplay.decoding.step`).

A model supplies ``step(state, tokens) -> (logits, state)``, a start ``(logits, state)``
and its rules (:class:`~pianoplay.decoding.step.Rules`); :func:`pianoplay.decoding.run.decode`
runs the named strategy. The chord-LSTMs
(:mod:`pianoplay.models.lm.decoding`) and a VAE's token decoder use the same code.

``STRATEGIES`` (name -> what it does, for the UI and the CLI) is the one list of them;
this module imports nothing heavy, so the CLI can read it before torch is loaded.

Modules: :mod:`~pianoplay.decoding.step` (the contract, :class:`~pianoplay.decoding.step.Rules`),
:mod:`~pianoplay.decoding.sampling` (sample, top-k, top-p, greedy),
:mod:`~pianoplay.decoding.beam` (beam search), :mod:`~pianoplay.decoding.beam_sample`,
:mod:`~pianoplay.decoding.run` (:func:`~pianoplay.decoding.run.decode` by name).
"""

from __future__ import annotations

STRATEGIES: dict[str, str] = {
    "sample": "each frame drawn from the model at the temperature (chord-LSTM: frames of the "
    "last 2 bars made a little less likely)",
    "top-k": "sampling among the k most likely frames (chord-LSTM: frames of the last 2 bars "
    "made a little less likely)",
    "top-p": "sampling from the most likely frames that hold probability p (nucleus; chord-LSTM: "
    "frames of the last 2 bars made a little less likely)",
    "greedy": "the most likely frame each step, frames used in the last 4 bars made less likely",
    "beam": "beam sampling: each beam samples candidate bars at the temperature, the most likely "
    "are kept (width = beams)",
}
# The controls each strategy reads: the app shows only these (the CLI ignores the others).
CONTROLS: dict[str, tuple[str, ...]] = {
    "sample": ("temperature",),
    "top-k": ("temperature", "top_k"),
    "top-p": ("temperature", "top_p"),
    "greedy": (),
    "beam": ("temperature", "beam_width"),
}
# Decoded by run.decode but not offered (UI, CLI), with the reason.
NOT_OFFERED: dict[str, str] = {
    "beam-search": "argmax beam search loops over a few frames on chord-lstm-classical "
    "(30 distinct frames in 128, real pieces 63); 'beam' (beam sampling) does not",
}
# Maximising likelihood would repeat one frame for ever: these obey Rules.repeat_penalty
# (the sampling strategies the lighter Rules.sample_penalty).
SEARCHES = ("greedy", "beam", "beam-search")
