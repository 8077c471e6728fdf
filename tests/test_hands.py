"""Hand-split chord-LSTM (two tokens a frame): vocabulary, exact NLL, decoding (tiny, CPU)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from pianoplay.data.load import load_split
from pianoplay.decoding import STRATEGIES
from pianoplay.models.lm.data import batch_log_prob, make_batch
from pianoplay.models.lm.model import ChordLSTM, ChordLSTMConfig
from pianoplay.models.lm.trained import TrainedLM
from pianoplay.music.hand_vocab import LEFT, RIGHT, HandVocab, load_vocab

REP = {"steps_per_quarter": 4, "normalize_key": True, "onsets": False, "steps_per_bar": 16}


@pytest.fixture(scope="module")
def pieces(data_dir) -> dict[str, list[np.ndarray]]:
    path = data_dir / "piano-midi-de"
    return {"train": load_split(path, "train", REP)[:6], "test": load_split(path, "test", REP)[:2]}


def tiny_model(vocab: HandVocab, seed: int = 0) -> TrainedLM:
    torch.manual_seed(seed)
    cfg = ChordLSTMConfig(n_out=vocab.n_out, n_embd=16, n_hidden=24, dropout=0.0, hands=True)
    model = ChordLSTM(cfg, torch.from_numpy(vocab.frame_matrix), torch.from_numpy(vocab.key_probs),
                      torch.from_numpy(vocab.hand_of), torch.from_numpy(vocab.hand_keys))
    config = {"family": "chord-lstm", "model": cfg.to_dict(), "representation": REP}
    return TrainedLM(config, model, vocab, torch.device("cpu"))


def test_hand_vocab_round_trip(pieces):
    vocab = HandVocab.build(pieces["train"], max_size=500, min_count=2, transpose=1)
    assert vocab.tokens_per_frame == 2
    again = load_vocab(json.loads(json.dumps(vocab.to_json())))
    assert isinstance(again, HandVocab)
    assert again.right == vocab.right and again.left == vocab.left
    roll = pieces["test"][0] > 0
    tokens = vocab.encode(roll)
    assert tokens.shape == (2 * len(roll),)
    assert (vocab.hand_of[tokens[0::2][tokens[0::2] > 0]] == RIGHT).all()
    assert (vocab.hand_of[tokens[1::2][tokens[1::2] > 0]] == LEFT).all()
    known = ~vocab.oov(roll)
    assert known.mean() > 0.5
    np.testing.assert_array_equal(vocab.decode_batch(tokens)[known], roll[known])
    np.testing.assert_array_equal(again.encode(roll), tokens)


@torch.no_grad()
def test_hand_likelihood_is_a_distribution():
    """With a left hand of 4 keys every one of its 16 chords can be scored: known chords by
    the softmax, the rest through UNK. Given the right hand's chord their probabilities sum
    to one."""
    rng = np.random.default_rng(0)
    rolls = [(rng.random((40, 88)) < 0.04).astype(np.uint8) for _ in range(3)]
    for r in rolls:
        r[:, :4] = rng.random((40, 4)) < 0.3
    vocab = HandVocab.build(rolls, max_size=6, min_count=1, split_pitch=21 + 4)
    assert len(vocab.left) == 6  # 10 of the 16 left chords are UNK
    model = tiny_model(vocab).model.eval()
    right = rolls[0][0].copy()
    right[:4] = 0
    total, p_right = 0.0, []
    for bits in itertools.product((0, 1), repeat=4):
        frame = right.copy()
        frame[:4] = bits
        batch = make_batch([frame[None]], vocab)
        h, _ = model(batch.tokens_in, batch.frames_in)
        lp = model.frame_log_prob(h, batch.tokens_out, batch.frames_out)[0].double()  # (2,)
        p_right.append(float(lp[0].exp()))
        total += float(lp[1].exp())
        assert float(batch_log_prob(model, batch)[0, 0]) == pytest.approx(float(lp.sum()), abs=1e-5)
    assert max(p_right) == pytest.approx(min(p_right))  # the right hand comes first
    assert total == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_hand_model_decodes_every_strategy(pieces, strategy):
    vocab = HandVocab.build(pieces["train"], max_size=800, min_count=2)
    lm = tiny_model(vocab)
    rolls = lm.generate(n=2, steps=32, strategy=strategy, temperature=0.9, top_k=10, top_p=0.9,
                        beam_width=3, seed=1)
    assert len(rolls) == 2 and all(r.shape == (32, 88) for r in rolls)
    for r in rolls:  # every emitted chord is a known one, so frames are known pairs
        assert not vocab.oov(r).any()
        held = (r[1:] == r[:-1]).all(1)
        assert held.mean() < 0.9


def test_hand_model_continues_a_primer(pieces):
    vocab = HandVocab.build(pieces["train"], max_size=800, min_count=2)
    lm = tiny_model(vocab)
    primer = pieces["test"][0][:24]
    out = lm.generate(n=1, steps=16, strategy="beam", beam_width=2, primer=primer, seed=0)[0]
    assert out.shape == (40, 88)
    np.testing.assert_array_equal(out[:24], primer > 0)
