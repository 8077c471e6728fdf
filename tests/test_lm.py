"""Chord-LSTM / roll-LSTM: vocabulary, exact likelihood, decoding, checkpoints (tiny, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pianoplay.cli import main
from pianoplay.data.benchmark import load_benchmark
from pianoplay.decoding import STRATEGIES
from pianoplay.models.lm.data import batch_log_prob, make_batch
from pianoplay.models.lm.model import ChordLSTM, ChordLSTMConfig
from pianoplay.models.lm.roll_model import RollLSTM, RollLSTMConfig
from pianoplay.models.lm.trained import TrainedLM
from pianoplay.music.vocab import ChordVocab


@pytest.fixture(scope="module")
def notts(data_dir) -> dict[str, list[np.ndarray]]:
    path = data_dir / "benchmark" / "Nottingham.mat"
    return {"train": load_benchmark(path, "train")[:20], "test": load_benchmark(path, "test")[:3]}


@pytest.fixture(scope="module")
def tiny(notts) -> TrainedLM:
    torch.manual_seed(0)
    vocab = ChordVocab.build(notts["train"])
    cfg = ChordLSTMConfig(n_out=vocab.n_out, n_embd=16, n_hidden=24, n_layer=2, dropout=0.0)
    model = ChordLSTM(cfg, torch.from_numpy(vocab.frame_matrix), torch.from_numpy(vocab.key_probs))
    config = {
        "family": "chord-lstm",
        "model": cfg.to_dict(),
        "representation": {"steps_per_quarter": 2, "steps_per_bar": 8},
    }
    return TrainedLM(config, model, vocab, torch.device("cpu"))


@pytest.fixture(scope="module")
def tiny_roll() -> TrainedLM:
    torch.manual_seed(0)
    cfg = RollLSTMConfig(n_embd=16, n_hidden=24, dropout=0.0)
    config = {
        "family": "roll-lstm",
        "model": cfg.to_dict(),
        "representation": {"steps_per_quarter": 2},
    }
    return TrainedLM(config, RollLSTM(cfg), None, torch.device("cpu"))


def test_vocab_json_round_trip(notts):
    vocab = ChordVocab.build(notts["train"], min_count=2)
    again = ChordVocab.from_json(json.loads(json.dumps(vocab.to_json())))
    assert again.frames == vocab.frames and again.counts == vocab.counts
    np.testing.assert_allclose(again.key_probs, vocab.key_probs)
    roll = notts["test"][0]
    np.testing.assert_array_equal(again.encode(roll), vocab.encode(roll))
    assert again.log_unk_norm == pytest.approx(vocab.log_unk_norm)


def test_oov_frame_has_finite_log_prob(tiny, notts):
    roll = notts["test"][0][:20].copy()
    roll[5] = 0
    roll[5, [0, 40, 87]] = 1  # a frame no folk tune has
    assert tiny.vocab.encode(roll)[5] == 0
    nll = tiny.log_prob([roll])[0]
    assert nll.shape == (20,) and np.isfinite(nll).all() and (nll > 0).all()


@pytest.mark.parametrize("unk_head", [True, False])
def test_distribution_sums_to_one(unk_head):
    """Enumerate every frame over 6 keys; the UNK Bernoulli gives the other 82 keys ~no mass."""
    torch.manual_seed(1)
    keys = 6
    frames = [(), (0,), (0, 4), (2, 3, 5), (1,)]
    vocab = ChordVocab(frames, [5, 4, 3, 2, 1], np.r_[np.full(keys, 0.3), np.full(88 - keys, 1e-6)])
    cfg = ChordLSTMConfig(n_out=vocab.n_out, n_embd=8, n_hidden=12, dropout=0.0, unk_head=unk_head)
    model = ChordLSTM(cfg, torch.from_numpy(vocab.frame_matrix), torch.from_numpy(vocab.key_probs))
    if unk_head:
        with torch.no_grad():
            model.unk_head.bias[keys:] = -40.0
            model.unk_head.weight[keys:] = 0.0
    all_frames = np.array(
        [[(i >> k) & 1 for k in range(keys)] + [0] * (88 - keys) for i in range(2**keys)], np.uint8
    )  # (64, 88)
    h = torch.randn(1, 1, 12).expand(2**keys, 1, 12)
    tokens = torch.from_numpy(vocab.encode(all_frames))[:, None]
    with torch.no_grad():
        lp = model.frame_log_prob(h, tokens, torch.from_numpy(all_frames)[:, None]).double()
    assert lp.exp().sum().item() == pytest.approx(1.0, abs=1e-4)


def test_beam_search_width_one_equals_greedy(tiny):
    greedy = tiny.generate(steps=24, strategy="greedy")[0]
    beam = tiny.generate(steps=24, strategy="beam-search", beam_width=1)[0]
    np.testing.assert_array_equal(greedy, beam)


def test_top_k_one_ignores_the_seed_and_seed_repeats(tiny):
    np.testing.assert_array_equal(
        tiny.generate(steps=16, strategy="top-k", top_k=1, seed=3)[0],
        tiny.generate(steps=16, strategy="top-k", top_k=1, seed=4)[0],
    )
    a = tiny.generate(n=4, steps=16, strategy="top-p", top_p=0.8, seed=7)
    b = tiny.generate(n=4, steps=16, strategy="top-p", top_p=0.8, seed=7)
    assert all((x == y).all() for x, y in zip(a, b))


@pytest.mark.parametrize("strategy", [*STRATEGIES, "beam-search"])
def test_generated_frames_are_known_and_primer_verbatim(tiny, notts, strategy):
    primer = notts["test"][1][:13]
    rolls = tiny.generate(
        n=2, steps=10, strategy=strategy, top_k=5, top_p=0.9, beam_width=4, primer=primer, seed=0
    )
    assert len(rolls) == 2
    for roll in rolls:
        assert roll.shape == (23, 88) and roll.dtype == np.uint8
        np.testing.assert_array_equal(roll[:13], primer)
        assert (tiny.vocab.encode(roll[13:]) != 0).all()  # UNK never emitted


def test_roll_lstm_generates_and_scores(tiny_roll, notts):
    primer = notts["test"][0][:8]
    rolls = tiny_roll.generate(n=3, steps=5, strategy="sample", primer=primer, seed=1)
    assert all(r.shape == (13, 88) and (r[:8] == primer).all() for r in rolls)
    nll = tiny_roll.log_prob(notts["test"][:2])
    assert all(np.isfinite(x).all() for x in nll)
    from pianoplay.errors import PianoplayError

    for strategy in ("beam", "greedy"):
        with pytest.raises(PianoplayError, match="roll-LSTM"):
            tiny_roll.generate(strategy=strategy)


def test_roll_lstm_rests_at_most_a_quarter_of_any_bar(tiny_roll, notts):
    """An untrained roll-LSTM at a low temperature would mostly rest: silent frames fill at most
    2 of any 8 (counting the primer's), and a piece without a primer opens with a sound."""
    primer = notts["test"][0][:8].copy()
    primer[-2:] = 0  # the primer ends on a quarter of rest: the next frame must sound
    fresh = tiny_roll.generate(n=4, steps=40, temperature=0.3, seed=2)
    primed = tiny_roll.generate(n=4, steps=40, temperature=0.3, seed=2, primer=primer)
    for roll in fresh + primed:
        silent = ~roll.any(1)
        assert max(silent[t : t + 8].sum() for t in range(len(roll) - 7)) <= 2
    assert all(r[0].any() for r in fresh) and all(r[8].any() for r in primed)


def test_batching_does_not_change_log_probs(tiny, notts):
    rolls = notts["test"]
    together = tiny.log_prob(rolls)
    for roll, lp in zip(rolls, together):
        np.testing.assert_allclose(tiny.log_prob([roll])[0], lp, rtol=1e-5, atol=1e-5)


def test_overfits_one_piece(notts):
    torch.manual_seed(0)
    roll = notts["train"][0][:64]
    vocab = ChordVocab.build([roll])
    cfg = ChordLSTMConfig(n_out=vocab.n_out, n_embd=16, n_hidden=32, dropout=0.0)
    model = ChordLSTM(cfg, torch.from_numpy(vocab.frame_matrix), torch.from_numpy(vocab.key_probs))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    batch = make_batch([roll], vocab)
    for _ in range(150):
        loss = -batch_log_prob(model, batch).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3


def test_train_save_load_round_trip(tmp_path, data_dir):
    out = tmp_path / "tiny-chord"
    data = data_dir / "benchmark" / "Nottingham.mat"
    rc = main(
        [
            "train",
            "chord-lstm",
            "--data",
            str(data),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--limit",
            "8",
            "--embd",
            "8",
            "--hidden",
            "12",
            "--threads",
            "1",
            "--no-test",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    config = json.loads((out / "config.json").read_text())
    assert config["family"] == "chord-lstm" and config["files"] == {"vocab": "vocab.json"}
    assert config["representation"]["steps_per_quarter"] == 2 and (out / "README.md").is_file()
    trained = TrainedLM.from_checkpoint(out, "cpu")
    from pianoplay.models.lm.evaluate import evaluate

    valid = load_benchmark(data, "valid")
    assert evaluate(trained, valid)["nll_per_frame"] == pytest.approx(
        config["metrics"]["valid_nll_per_frame"], abs=2e-4
    )
    gen = tmp_path / "gen"
    assert (
        main(
            [
                "generate",
                "--checkpoint",
                str(out),
                "--strategy",
                "beam",
                "--beam-width",
                "4",
                "--bars",
                "2",
                "-n",
                "2",
                "--seed",
                "1",
                "--no-audio",
                "--out",
                str(gen),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert len(list(gen.glob("*.mid"))) == 2 and len(list(gen.glob("*.png"))) == 2


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--temperature", "0"], "--temperature"),
        (["--strategy", "top-k", "--top-k", "0"], "--top-k"),
        (["--top-p", "1.5"], "--top-p"),
        (["--beam-width", "0"], "--beam-width"),
        (["--bars", "0"], "--bars"),
        (["--strategy", "beam", "-n", "9"], "-n"),
        (["--primer", "/nonexistent.mid"], "--primer"),
    ],
)
def test_generate_flags_are_checked_first(tmp_path, capsys, flags, named):
    rc = main(
        ["generate", "--checkpoint", "no-such-checkpoint", "--out", str(tmp_path / "o"), *flags]
    )
    assert rc == 2
    assert named in capsys.readouterr().err


@pytest.mark.parametrize("family", ["chord-lstm", "roll-lstm"])
def test_resumed_training_ends_where_an_uninterrupted_one_does(tmp_path, data_dir, family):
    from safetensors.torch import load_file

    data = data_dir / "benchmark" / "Nottingham.mat"
    flags = [
        "--data",
        str(data),
        "--limit",
        "6",
        "--embd",
        "8",
        "--hidden",
        "12",
        "--threads",
        "1",
        "--no-test",
        "--device",
        "cpu",
        "--patience",
        "9",
    ]
    assert (
        main(["train", family, "--out", str(tmp_path / "straight"), "--epochs", "3", *flags]) == 0
    )
    assert main(["train", family, "--out", str(tmp_path / "cut"), "--epochs", "1", *flags]) == 0
    assert (
        main(["train", family, "--out", str(tmp_path / "cut"), "--epochs", "3", "--resume", *flags])
        == 0
    )
    straight, cut = (
        json.loads((tmp_path / n / "config.json").read_text()) for n in ("straight", "cut")
    )
    assert [h["valid_nll"] for h in cut["training"]["history"]] == [
        h["valid_nll"] for h in straight["training"]["history"]
    ]
    assert len(cut["training"]["history"]) == 3
    assert cut["metrics"] == straight["metrics"]
    a, b = (load_file(str(tmp_path / n / "model.safetensors")) for n in ("straight", "cut"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_without_state_names_the_flag(tmp_path, data_dir, capsys):
    rc = main(
        [
            "train",
            "roll-lstm",
            "--data",
            str(data_dir / "benchmark" / "Nottingham.mat"),
            "--out",
            str(tmp_path / "none"),
            "--resume",
        ]
    )
    assert rc != 0 and "--resume" in capsys.readouterr().err
