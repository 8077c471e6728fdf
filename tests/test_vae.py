"""LSTM-VAE: shapes, exact likelihood, overfitting one window, save/load, inference API."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from pianoplay.data.benchmark import load_benchmark
from pianoplay.errors import MidiError
from pianoplay.models.checkpoint import save_checkpoint
from pianoplay.models.vae.evaluate import make_batch, tile_windows
from pianoplay.models.vae.model import MusicVAE, VAEConfig
from pianoplay.models.vae.train import REPRESENTATION, TrainConfig
from pianoplay.models.vae.trained import TrainedVAE
from pianoplay.music.vocab import ChordVocab
from pianoplay.paths import data_dir

NOTTINGHAM = data_dir() / "benchmark" / "Nottingham.mat"
torch.set_num_threads(1)  # CI shares two cores; tiny models gain nothing from more
TINY = dict(frame_dim=16, enc_hidden=16, latent_dim=8, dec_hidden=32, cond_hidden=16, cond_dim=16,
            max_steps=32, dropout=0.0)


@pytest.fixture(scope="module")
def test_rolls():
    return load_benchmark(NOTTINGHAM, "test")[:20]


def tiny_model(vocab: ChordVocab, **over) -> MusicVAE:
    torch.manual_seed(0)
    cfg = VAEConfig(**{**TINY, "n_out": vocab.n_out, **over})
    return MusicVAE(cfg, torch.from_numpy(vocab.frame_matrix))


@pytest.mark.parametrize("conductor", [False, True])
def test_shapes(test_rolls, conductor):
    vocab = ChordVocab.build(test_rolls)
    model = tiny_model(vocab, conductor=conductor, word_dropout=0.5 if conductor else 0.0)
    wins = [w for _, _, w in tile_windows(test_rolls[:3], 32, phase=5)]
    roll, tokens, lengths, mask = make_batch(wins, vocab, torch.device("cpu"))
    out = model(roll, tokens, lengths)
    B, T = tokens.shape
    assert out["logp"].shape == (B, T) and out["kl"].shape == (B,)
    assert out["mu"].shape == out["logvar"].shape == (B, 8)
    assert torch.isfinite(out["logp"][mask]).all() and (out["logp"][mask] <= 0).all()
    gen = model.eval().generate(torch.randn(3, 8), 20)
    assert gen.shape == (3, 20, 88) and set(gen.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("unk_mix", [1.0, 0.5])
def test_likelihood_is_normalised_over_all_frames(unk_mix):
    """With 5 keys every one of the 32 frames can be enumerated: known frames
    through the softmax, the rest through the renormalised Bernoulli head."""
    n_keys = 5
    known = [(), (0,), (1, 3), (2,), (0, 2, 4)]
    matrix = torch.zeros(len(known) + 1, n_keys)
    for i, f in enumerate(known):
        matrix[i + 1, list(f)] = 1
    torch.manual_seed(0)
    model = MusicVAE(VAEConfig(**{**TINY, "n_out": len(known) + 1, "n_keys": n_keys,
                                  "unk_mix": unk_mix}), matrix)
    probs = np.array([0.1, 0.3, 0.5, 0.2, 0.05])
    q_known = sum(np.prod(np.where(np.isin(np.arange(n_keys), f), probs, 1 - probs)) for f in known)
    model.set_unk_prior(probs, float(np.log1p(-q_known)))
    frames = torch.tensor(list(itertools.product([0, 1], repeat=n_keys)), dtype=torch.float32)
    tokens = torch.tensor([known.index(tuple(np.flatnonzero(f.numpy()))) + 1
                           if tuple(np.flatnonzero(f.numpy())) in known else 0 for f in frames])
    h = torch.randn(1, 1, 32).expand(len(frames), 1, 32)  # one context for every frame
    lp = model.frame_logprob(h, frames[:, None], tokens[:, None])  # (32, 1)
    assert math.isclose(torch.logsumexp(lp.flatten(), 0).item(), 0.0, abs_tol=1e-5)


def test_overfit_one_window(test_rolls):
    window = test_rolls[0][:32]
    vocab = ChordVocab.build([window])
    model = tiny_model(vocab)
    roll, tokens, lengths, _ = make_batch([window], vocab, torch.device("cpu"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        out = model(roll, tokens, lengths)
        loss = -out["logp"].mean() + 0.01 * out["kl"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    mu, _ = model.encode(roll, lengths)
    recon = model.generate(mu, 32, greedy=True)[0].numpy()
    assert (recon == window).all(1).mean() >= 0.95


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, test_rolls):
    vocab = ChordVocab.build(test_rolls)
    model = tiny_model(vocab, max_steps=128)
    folder = tmp_path_factory.mktemp("vae-tiny")
    config = {"name": "vae-tiny", "family": "vae", "model": model.cfg.to_dict(),
              "representation": REPRESENTATION, "training": {"config": TrainConfig().to_dict()}}
    save_checkpoint(folder, config, model.state_dict(), {"vocab.json": vocab.to_json()})
    return folder, model


def test_config_and_checkpoint_round_trip(tiny_checkpoint):
    folder, model = tiny_checkpoint
    cfg = VAEConfig.from_dict(json.loads(json.dumps(model.cfg.to_dict())))
    assert cfg == model.cfg
    tc = TrainConfig(seed=3, free_nats=5.0)
    assert TrainConfig.from_dict(json.loads(json.dumps(tc.to_dict()))) == tc
    vae = TrainedVAE.from_checkpoint(folder, "cpu")
    assert vae.model.cfg == model.cfg and vae.latent_dim == 8 and vae.steps_per_bar == 8
    for k, v in model.state_dict().items():
        assert torch.equal(v, vae.model.state_dict()[k])
    z = np.random.default_rng(0).normal(size=(2, 8))
    assert all(np.array_equal(a, b) for a, b in zip(vae.decode(z), vae.decode(z)))


def test_training_state_round_trip(tmp_path, tiny_checkpoint):
    from pianoplay.training.state import load_state, save_state

    _, model = tiny_checkpoint
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.9)
    out = model(torch.zeros(1, 4, 88), torch.zeros(1, 4, dtype=torch.long), torch.tensor([4]))
    out["kl"].sum().backward()
    opt.step()
    sched.step()
    rng = np.random.default_rng(5)
    save_state(tmp_path, model, opt, sched, rng, {"epoch": 1, "history": []})
    expect_torch, expect_np = torch.rand(3), rng.random(3)
    model2 = MusicVAE(model.cfg)
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-3)
    sched2 = torch.optim.lr_scheduler.ExponentialLR(opt2, 0.9)
    rng2 = np.random.default_rng(0)
    assert load_state(tmp_path, model2, opt2, sched2, rng2)["epoch"] == 1
    assert torch.equal(torch.rand(3), expect_torch) and np.array_equal(rng2.random(3), expect_np)
    assert opt2.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"])
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k]["exp_avg"], s2[k]["exp_avg"])


def test_encode_interpolate_and_axes(tiny_checkpoint, test_rolls):
    folder, _ = tiny_checkpoint
    vae = TrainedVAE.from_checkpoint(folder, "cpu")
    midi = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[0]
    a = vae.encode(midi)
    assert a.z.shape == (8,) and a.roll.shape == (128, 88) and a.n_bars >= 1
    assert 0 <= a.start_bar < a.total_bars
    short = vae.encode(test_rolls[0][:40])  # shorter than a window: padded with silence
    assert short.roll.shape == (128, 88) and not short.roll[40:].any()
    with pytest.raises(MidiError):
        vae.encode(np.zeros((200, 88), np.uint8))
    path = vae.interpolate_z(a, short, 5)
    assert path.shape == (5, 8)
    np.testing.assert_allclose(path[0], a.z, atol=1e-6)
    np.testing.assert_allclose(path[-1], short.z, atol=1e-6)
    rolls = vae.interpolate(a, short, 5, greedy=True)
    assert len(rolls) == 5 and np.array_equal(rolls[0], vae.decode(a.z, greedy=True)[0])
    assert all(
        np.array_equal(x, y)
        for x, y in zip(vae.interpolate(a, short, 5), vae.interpolate(a, short, 5))
    )
    axes = vae.build_latent_axes(test_rolls, save=False)
    assert axes.directions.shape == (8, 8) and (np.diff(axes.std) <= 1e-9).all()
    moved = vae.apply(a.z, {"pc1": 2.0})
    assert axes.project(moved)[0] == pytest.approx(axes.project(a.z)[0] + 2.0, abs=1e-6)
    assert set(axes.attributes) == {"note_density", "mean_pitch", "polyphony", "rhythmic_activity"}
    samples = vae.sample(3, temperature=0.8, seed=1)
    assert len(samples) == 3 and all(
        np.array_equal(x, y) for x, y in zip(samples, vae.sample(3, temperature=0.8, seed=1))
    )


SHIPPED = (
    __import__("pianoplay.paths", fromlist=["CHECKPOINTS_DIR"]).CHECKPOINTS_DIR / "vae-nottingham"
)


@pytest.mark.skipif(not (SHIPPED / "latent.json").is_file(), reason="checkpoint not trained yet")
@pytest.mark.parametrize("name", ["note_density", "mean_pitch", "polyphony", "rhythmic_activity"])
def test_attribute_vectors_move_their_attribute(name):
    from pianoplay.models.vae.latent import attributes

    vae = TrainedVAE.from_checkpoint(SHIPPED, "cpu")
    wins = [w for _, _, w in tile_windows(load_benchmark(NOTTINGHAM, "test"), 128) if len(w) == 128]
    z = vae.encode_rolls(wins[:48])
    before = [attributes(r)[name] for r in vae.decode(z)]
    after = [attributes(r)[name] for r in vae.decode(vae.apply(z, {name: 1.0}))]
    assert np.nanmean(after) > np.nanmean(before)


@pytest.mark.slow
def test_training_is_deterministic_and_resumable(tmp_path):
    import scipy.io
    from safetensors.torch import load_file

    from pianoplay.models.vae.train import train

    rolls = {s: load_benchmark(NOTTINGHAM, s)[:6] for s in ("train", "valid", "test")}
    mat = tmp_path / "tiny.mat"
    cells = {}
    for split, rs in rolls.items():
        cell = np.empty((1, len(rs)), dtype=object)  # MATLAB 1 x N cell, like Nottingham.mat
        for i, r in enumerate(rs):
            cell[0, i] = r.astype(np.float64)
        cells[f"{split}data"] = cell
    scipy.io.savemat(mat, cells)
    model = {k: v for k, v in TINY.items() if k != "max_steps"}
    run = lambda out, epochs, resume=False: train(  # noqa: E731
        mat,
        out,
        model,
        {"window": 32, "max_epochs": epochs, "beta_warmup_steps": 5, "batch_size": 8},
        torch.device("cpu"),
        resume=resume,
        test=False,
        quiet=True,
    )
    run(tmp_path / "a", 2)
    run(tmp_path / "b", 2)
    run(tmp_path / "c", 1)
    run(tmp_path / "c", 2, resume=True)
    a, b, c = (load_file(str(tmp_path / x / "resume" / "state.safetensors")) for x in "abc")
    for k in a:
        assert torch.equal(a[k], b[k]), k
        assert torch.equal(a[k], c[k]), k
    assert (tmp_path / "a" / "loss_curves.png").is_file() and (
        tmp_path / "a" / "latent.json"
    ).is_file()
    assert len(json.loads((tmp_path / "c" / "history.json").read_text())) == 2
