"""Decoding strategies over the step contract: shipped LMs make music with every offered
strategy, beam sampling keeps its best candidate, a primer stays, and one implementation
serves an LM and a VAE-like decoder (a tiny z-conditioned LSTM built here)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from pianoplay.data.benchmark import load_benchmark
from pianoplay.decoding import STRATEGIES
from pianoplay.decoding.beam_sample import beam_sample
from pianoplay.decoding.run import decode
from pianoplay.decoding.step import Narrow, Rules, Runs
from pianoplay.errors import PianoplayError
from pianoplay.models.lm.decoding import chord_decoder, chord_rules
from pianoplay.models.registry import Registry
from pianoplay.music import measures

SHIPPED = ("chord-lstm-nottingham", "chord-lstm-classical")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def lms() -> dict:
    registry = Registry(device="cpu")
    return {name: registry.load(name) for name in SHIPPED}


@pytest.fixture(scope="module")
def primer(data_dir) -> np.ndarray:
    return load_benchmark(data_dir / "benchmark" / "Nottingham.mat", "test")[0][:20]  # 2.5 bars


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("name", SHIPPED)
def test_every_offered_strategy_makes_music(lms, name, strategy):
    """16 bars from the MIDI a user gets: no drone, not mostly silence (issue 12)."""
    lm = lms[name]
    if strategy in lm.config.get("not_offered", {}):  # refused, with the reason
        with pytest.raises(PianoplayError, match=f"does not offer '{strategy}'"):
            lm.generate(n=1, steps=8, strategy=strategy)
        return
    rolls = lm.generate(
        n=4, steps=16 * lm.steps_per_bar, strategy=strategy, top_k=20, top_p=0.9, beam_width=8,
        seed=1,
    )
    for roll in rolls:
        v = measures.variety(lm.to_midi(roll))
        assert v["held"] < 0.7 and v["silent"] < 0.3, (name, strategy, v)


@pytest.mark.parametrize("name", SHIPPED)
def test_beam_sampling_returns_its_best_candidate(lms, primer, name):
    """Every candidate re-scored on its own by the model's exact likelihood (TrainedLM.log_prob)."""
    lm = lms[name]
    step, start, history = chord_decoder(lm.model, lm.vocab, primer, 2)
    runs = Runs.after(history, 2, chord_rules(lm.vocab), start[0].device)
    with torch.no_grad():
        found = beam_sample(
            step,
            start,
            20,
            runs,
            torch.Generator().manual_seed(0),
            width=3,
            candidates=2,
            segment=8,
            offset=len(primer),
        )
    for b in range(2):
        rolls = [np.concatenate([primer, lm.vocab.decode(c)]) for c in found.candidates[b].numpy()]
        # the score is the mean log-prob per token (a hand model has two tokens a frame)
        rescored = np.array([-nll[len(primer) :].sum() / 20 for nll in lm.log_prob(rolls)])
        np.testing.assert_allclose(found.scores[b].numpy(), rescored, atol=1e-3)
        assert torch.equal(found.tokens[b], found.candidates[b, rescored.argmax()])


@pytest.mark.parametrize("name", SHIPPED)
def test_primer_continuation_keeps_the_primer(lms, primer, name):
    offered = [s for s in STRATEGIES if s not in lms[name].config.get("not_offered", {})]
    for strategy in offered:
        for roll in lms[name].generate(
            n=2,
            steps=16,
            strategy=strategy,
            beam_width=3,
            top_k=20,
            top_p=0.9,
            primer=primer,
            seed=2,
        ):
            assert roll.shape == (len(primer) + 16, 88)
            np.testing.assert_array_equal(roll[: len(primer)], primer)


class TinyZDecoder(nn.Module):
    """A VAE-like token decoder: an LSTM cell whose input and first state depend on a latent z."""

    def __init__(self, vocab: int = 12, latent: int = 4, hidden: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.init = nn.Linear(latent, 2 * hidden)
        self.cell = nn.LSTMCell(8 + latent, hidden)
        self.head = nn.Linear(hidden, vocab)

    def start(self, z: torch.Tensor):
        """z (B, D) -> (logits (B, V), state (h, c, z) each (1, B, ...))."""
        h, c = torch.tanh(self.init(z)).chunk(2, -1)
        return self.head(h), (h[None], c[None], z[None])

    def step(self, state, tokens: torch.Tensor):
        h, c, z = state
        h, c = self.cell(torch.cat([self.embed(tokens), z[0]], -1), (h[0], c[0]))
        return self.head(h), (h[None], c[None], z)

    def log_prob(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced summed log-prob of tokens (B, T) given z (B, D) -> (B,)."""
        logits, state = self.start(z)
        total = torch.zeros(len(z))
        for t in range(tokens.shape[1]):
            total += logits.log_softmax(-1).gather(1, tokens[:, t, None]).squeeze(1)
            logits, state = self.step(state, tokens[:, t])
        return total


@torch.no_grad()
def test_one_strategy_implementation_serves_a_vae_like_decoder():
    torch.manual_seed(0)
    dec = TinyZDecoder()
    z = torch.randn(2, 4)
    rules = Rules(
        max_hold=2, rest=0, max_rest=1, rest_window=3, repeat_penalty=1.0, repeat_window=4
    )
    for strategy in [*STRATEGIES, "beam-search"]:
        out = decode(
            strategy,
            dec.step,
            dec.start(z),
            12,
            rules,
            gen=torch.Generator().manual_seed(1),
            top_k=3,
            top_p=0.8,
            beam_width=3,
            segment=4,
        )
        assert out.shape == (2, 12) and out.dtype == torch.long
        for row in out.tolist():  # the rules hold for a decoder they were not written for
            runs = [len(list(g)) for _, g in itertools.groupby(row)]
            rests = [row[t : t + 3].count(0) for t in range(10)]
            assert max(runs) <= 2 and max(rests) <= 1 and row[0] != 0
    # rows decode on their own: each z alone gives the same greedy sequence
    both = decode("greedy", dec.step, dec.start(z), 12, rules)
    for b in range(2):
        np.testing.assert_array_equal(
            decode("greedy", dec.step, dec.start(z[b : b + 1]), 12, rules)[0], both[b]
        )
    # beam sampling reorders beams with their z: every candidate's score is its own z's likelihood
    runs = Runs.after([], 2, rules)
    found = beam_sample(
        dec.step,
        dec.start(z),
        10,
        runs,
        torch.Generator().manual_seed(3),
        width=3,
        candidates=2,
        segment=4,
    )
    for b in range(2):
        lp = dec.log_prob(z[b : b + 1].expand(6, -1), found.candidates[b]) / 10
        np.testing.assert_allclose(found.scores[b].numpy(), lp.numpy(), atol=1e-5)


def test_sampling_strategies_take_the_lighter_repetition_penalty():
    """Searches keep repeat_penalty over repeat_window; sample / top-k / top-p decode under
    sample_penalty over sample_window (Rules.for_strategy), and the penalty bites: a token
    the model prefers is taken off once per recent use."""
    rules = Rules(repeat_penalty=1.5, repeat_window=32, sample_penalty=0.5, sample_window=8)
    search, sampling = rules.for_strategy(True), rules.for_strategy(False)
    assert (search.repeat_penalty, search.repeat_window) == (1.5, 32)
    assert (sampling.repeat_penalty, sampling.repeat_window) == (0.5, 8)
    assert sampling.memory == 8 and not sampling.sample_penalty
    runs = Runs.after([1, 1, 2], 1, sampling)
    masked = runs.mask(torch.zeros(1, 4))
    np.testing.assert_allclose(masked[0].numpy(), [0.0, -1.0, -0.5, 0.0])


@torch.no_grad()
def test_narrow_logits_decode_as_the_full_row():
    """A step that returns only some ids' logits (Narrow, as a hand model does: the other ids
    are at -inf) gives the searches exactly the tokens of the full row with those -inf, and
    the rules (banned, holds, rests, repeats) still apply by vocabulary id."""
    torch.manual_seed(0)
    dec = TinyZDecoder(vocab=12)
    z = torch.randn(2, 4)
    ids = torch.tensor([0, 3, 4, 5, 6, 9, 10])  # id 0 is the rest, 3 is banned

    def narrow(step):
        def wrapped(state, tokens):
            logits, state = step(state, tokens)
            return Narrow(logits[:, ids], ids), state

        return wrapped

    def full(step):
        def wrapped(state, tokens):
            logits, state = step(state, tokens)
            return Narrow(logits[:, ids], ids).full(12), state

        return wrapped

    def start(wrap):
        logits, state = dec.start(z)
        return wrap(lambda s, t: (logits, s))(state, None)

    rules = Rules(banned=(3,), max_hold=2, rest=0, max_rest=1, rest_window=3,
                  repeat_penalty=1.0, repeat_window=4, sample_penalty=0.5, sample_window=4)
    for strategy in ("greedy", "beam", "beam-search"):
        out = {}
        for wrap in (narrow, full):
            out[wrap] = decode(strategy, wrap(dec.step), start(wrap), 16, rules,
                               gen=torch.Generator().manual_seed(1), beam_width=3, segment=4)
        np.testing.assert_array_equal(out[narrow], out[full])
        assert set(out[narrow].flatten().tolist()) <= set(ids.tolist()) - {3}
    sampled = decode("top-p", narrow(dec.step), start(narrow), 16, rules,
                     gen=torch.Generator().manual_seed(1), top_p=0.9)
    assert set(sampled.flatten().tolist()) <= set(ids.tolist()) - {3}
    for row in sampled.tolist():
        assert max(len(list(g)) for _, g in itertools.groupby(row)) <= 2
