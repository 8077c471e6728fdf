"""``TrainedLM``: a loaded chord-LSTM or roll-LSTM checkpoint, ready to generate and score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from pianoplay.config_io import from_dict
from pianoplay.decoding.step import DecodingError, Rules
from pianoplay.errors import CheckpointError, PianoplayError
from pianoplay.models.checkpoint import load_checkpoint
from pianoplay.models.lm import FAMILIES, decoding
from pianoplay.models.lm.evaluate import piece_log_probs
from pianoplay.models.lm.model import ChordLSTM, ChordLSTMConfig
from pianoplay.models.lm.roll_model import RollLSTM, RollLSTMConfig
from pianoplay.music.hand_vocab import HandVocab, load_vocab
from pianoplay.music.roll import roll_to_midi
from pianoplay.music.vocab import ChordVocab


def build_model(family: str, model_config: dict, vocab: ChordVocab | HandVocab | None):
    """An untrained model of ``family`` from its config dict (and vocabulary)."""
    if family == "chord-lstm":
        if vocab is None:
            raise CheckpointError("a chord-lstm checkpoint needs its vocabulary (vocab.json).")
        cfg = ChordLSTMConfig.from_dict(model_config)
        if cfg.n_out != vocab.n_out:
            raise CheckpointError(
                f"model expects {cfg.n_out} outputs, the vocabulary has {vocab.n_out}."
            )
        hands = {}
        if cfg.hands:
            if getattr(vocab, "tokens_per_frame", 1) != 2:
                raise CheckpointError("a hand chord-lstm needs a hand vocabulary (vocab.json).")
            hands = {"hand_of": torch.from_numpy(vocab.hand_of),
                     "hand_keys": torch.from_numpy(vocab.hand_keys)}
        return ChordLSTM(
            cfg, torch.from_numpy(vocab.frame_matrix), torch.from_numpy(vocab.key_probs), **hands
        )
    if family == "roll-lstm":
        return RollLSTM(RollLSTMConfig.from_dict(model_config))
    known = ", ".join(spec.name for spec in FAMILIES)
    raise CheckpointError(f"unknown LM family {family!r}; expected one of {known}.")


class TrainedLM:
    """A trained LM on ``device``, in eval mode.

    Attributes: ``config`` (the checkpoint's config dict), ``device``, ``model``,
    ``vocab`` (``ChordVocab`` or ``None`` for the roll-LSTM), ``steps_per_quarter``,
    ``steps_per_bar``.
    """

    def __init__(
        self, config: dict[str, Any], model, vocab: ChordVocab | None, device: torch.device
    ):
        self.config = config
        self.family = config["family"]
        self.model = model.to(device).eval()
        self.vocab = vocab
        self.device = torch.device(device)
        rep = config.get("representation", {})
        self.steps_per_quarter = int(rep.get("steps_per_quarter", 2))
        self.steps_per_bar = int(rep.get("steps_per_bar", 4 * self.steps_per_quarter))
        # the checkpoint's own values of the decoding rules' fields (chord_rules' otherwise)
        self.decode_rules = dict(config.get("decode_rules", {}))
        if self.decode_rules:
            from_dict(Rules, self.decode_rules, f"{config.get('name', 'checkpoint')}: decode_rules")

    @classmethod
    def from_checkpoint(cls, folder: str | Path, device: torch.device | str = "cpu") -> TrainedLM:
        config, state, extras = load_checkpoint(folder, device)
        family = config["family"]
        vocab = load_vocab(extras["vocab"]) if "vocab" in extras else None
        model = build_model(family, config["model"], vocab)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise CheckpointError(f"{folder}: weights do not fit the config ({err}).") from None
        return cls(config, model, vocab, torch.device(device))

    # generation -------------------------------------------------------
    def generate(
        self,
        n: int = 1,
        steps: int = 128,
        strategy: str = "sample",
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        beam_width: int = 8,
        primer: np.ndarray | None = None,
        seed: int | None = None,
    ) -> list[np.ndarray]:
        """``n`` rolls (T, 88) uint8 of ``steps`` new frames each, after ``primer`` (a (P, 88) roll,
        kept verbatim at the start, so T = P + steps).

        ``strategy``: a name of :data:`pianoplay.decoding.STRATEGIES` (``"sample"`` at
        ``temperature``, ``"top-k"`` with ``top_k``, ``"top-p"`` with ``top_p``, ``"greedy"``,
        ``"beam"`` sampling with ``beam_width`` beams, ``"beam-search"``), unless the checkpoint's
        ``not_offered`` names the strategy (with the reason, raised). The roll-LSTM offers
        ``sample`` only, its rests limited to a quarter of any bar. ``seed`` makes sampling
        repeatable.
        """

        reason = self.config.get("not_offered", {}).get(strategy)
        if reason:
            name = self.config.get("name", "this model")
            raise DecodingError(f"{name} does not offer {strategy!r}: {reason}")
        return decoding.generate(
            self.model,
            self.vocab,
            n=n,
            steps=steps,
            strategy=strategy,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            beam_width=beam_width,
            primer=primer,
            seed=seed,
            steps_per_bar=self.steps_per_bar,
            rules=self.decode_rules,
        )

    # scoring ----------------------------------------------------------
    def log_prob(self, rolls: list[np.ndarray] | np.ndarray) -> list[np.ndarray]:
        """Per-frame NLL of each roll: list of (T_i,) float64 arrays of
        ``-log p(frame_t | frames < t)``
        in nats (exact; the first entry is the first frame given the start symbol).
        Accepts a list of (T, 88) rolls or one (N, T, 88) array."""

        rolls = [np.asarray(r) for r in rolls]
        for r in rolls:
            if r.ndim != 2 or r.shape[1] != 88 or len(r) == 0:
                raise PianoplayError(f"log_prob expects (T, 88) rolls, got shape {r.shape}.")
        return [-lp for lp in piece_log_probs(self.model, self.vocab, rolls, self.device)]

    def to_midi(self, roll: np.ndarray, tempo: float = 120.0, program: int = 0):
        """A ``PrettyMIDI`` of a (T, 88) roll at this model's frame rate."""

        return roll_to_midi(
            roll, steps_per_quarter=self.steps_per_quarter, tempo=tempo, program=program
        )
