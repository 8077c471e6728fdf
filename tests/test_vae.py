"""LSTM-VAE: shapes, exact likelihood, overfitting one window, save/load, inference API,
encoders and decoders by name, decoding through pianoplay.decoding."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from pianoplay.config_io import ConfigError
from pianoplay.data.benchmark import load_benchmark
from pianoplay.decoding import STRATEGIES
from pianoplay.decoding.beam_sample import beam_sample
from pianoplay.decoding.run import decode
from pianoplay.decoding.step import Rules, Runs
from pianoplay.errors import MidiError
from pianoplay.models.checkpoint import save_checkpoint
from pianoplay.models.lm.decoding import chord_decoder, chord_rules
from pianoplay.models.lm.model import ChordLSTM, ChordLSTMConfig
from pianoplay.models.music_vae.decoders import DECODERS
from pianoplay.models.music_vae.evaluate import make_batch, tile_windows
from pianoplay.models.music_vae.model import MusicVAE, VAEConfig
from pianoplay.models.music_vae.train import REPRESENTATION, TrainConfig, fit_latent_axes
from pianoplay.models.music_vae.trained import TrainedVAE
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


@pytest.mark.parametrize("decoder", list(DECODERS))
def test_shapes(test_rolls, decoder):
    vocab = ChordVocab.build(test_rolls)
    model = tiny_model(vocab, decoder=decoder, word_dropout=0.5 if decoder == "conductor" else 0.0)
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


# -- encoders and decoders by name, decoding through pianoplay.decoding --------------------------

@pytest.mark.parametrize("decoder", list(DECODERS))
def test_each_decoder_builds_by_name(test_rolls, decoder):
    vocab = ChordVocab.build(test_rolls)
    model = tiny_model(vocab, decoder=decoder)
    assert isinstance(model.decoder, DECODERS[decoder])
    assert model.cfg.to_dict()["decoder"] == decoder and "conductor" not in model.cfg.to_dict()
    assert any(k.startswith("decoder.conductor.") for k in model.state_dict()) == (
        decoder == "conductor"
    )


@pytest.mark.parametrize("part", ["encoder", "decoder"])
def test_an_unknown_part_is_refused_by_name(part):
    with pytest.raises(ConfigError, match=f"model.{part} .*'transformer'"):
        VAEConfig(**{part: "transformer"})
    with pytest.raises(ConfigError, match="transformer"):
        VAEConfig.from_dict({part: "transformer"})


def test_configs_and_weights_from_before_decoders_had_names_load(test_rolls):
    """Old config.json says ``"conductor": true / false``; old weights keep the conductor
    beside the decoder (``conductor.*``)."""
    assert VAEConfig.from_dict({"conductor": True}).decoder == "conductor"
    assert VAEConfig.from_dict({"conductor": False}).decoder == "flat"
    with pytest.raises(ConfigError, match="conductor"):
        VAEConfig.from_dict({"conductor": True, "decoder": "flat"})
    vocab = ChordVocab.build(test_rolls)
    model = tiny_model(vocab, decoder="conductor")
    old = {k.replace("decoder.conductor.", "conductor."): v for k, v in model.state_dict().items()}
    assert any(k.startswith("conductor.") for k in old)
    old_config = {k: v for k, v in model.cfg.to_dict().items() if k != "decoder"}
    again = MusicVAE(VAEConfig.from_dict({**old_config, "conductor": True}))
    again.load_state_dict(old)
    for k, v in model.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k
    # Optimiser states are indexed by parameter order: encoder, conductor, frame LSTM as before.
    names = [n.split(".")[1] if n.startswith("decoder.") else n.split(".")[0]
             for n, _ in model.named_parameters()]
    assert names.index("conductor") < names.index("embed") and names[0] == "encoder"


def _tiny_lm(vocab: ChordVocab) -> ChordLSTM:
    torch.manual_seed(0)
    cfg = ChordLSTMConfig(n_out=vocab.n_out, n_embd=16, n_hidden=24, n_layer=2, dropout=0.0)
    return ChordLSTM(cfg, torch.from_numpy(vocab.frame_matrix), torch.from_numpy(vocab.key_probs))


@torch.no_grad()
@pytest.mark.parametrize("decoder", list(DECODERS))
def test_one_strategy_implementation_drives_an_lm_and_a_vae_decoder(test_rolls, decoder):
    """The chord-LSTM's and a chord-token VAE decoder's step functions through the same
    ``pianoplay.decoding`` code, under the same rules; beam sampling scores every candidate
    by the step function's log-probs, which must be the model's own teacher-forced ones
    (the conductor's bar switches at 8 and 16 included, with beams reordering the state)."""
    vocab = ChordVocab.build(test_rolls)
    lm = _tiny_lm(vocab).eval()
    vae = tiny_model(vocab, decoder=decoder).eval()
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
    rules = chord_rules(vocab)
    steps = 20
    lm_step, lm_start, _ = chord_decoder(lm, vocab, np.zeros((0, 88), np.uint8), 2)
    vae_steps = vae.decoder.step_function(z, steps, vae.frame_matrix)
    for strategy in [*STRATEGIES, "beam-search"]:
        for step, start in ((lm_step, lm_start), (vae_steps.step, vae_steps.start)):
            out = decode(strategy, step, start, steps, rules, gen=torch.Generator().manual_seed(1),
                         top_k=5, top_p=0.9, beam_width=3)
            assert out.shape == (2, steps) and (out != 0).all()  # UNK banned by the rules
    found = beam_sample(vae_steps.step, vae_steps.start, steps, Runs.after([], 2, rules),
                        torch.Generator().manual_seed(3), width=3, candidates=2, segment=8)
    for b in range(2):
        tokens = found.candidates[b]  # (6, T)
        h = vae.hidden(z[b : b + 1].expand(len(tokens), -1), vae.frame_matrix[tokens])
        lp = vae.frame_logprob(h, vae.frame_matrix[tokens], tokens).mean(1)
        np.testing.assert_allclose(found.scores[b].numpy(), lp.numpy(), atol=1e-4)
    # greedy through the step function = the argmax of the teacher-forced model
    tokens = decode("greedy", vae_steps.step, vae_steps.start, steps, rules)
    logits = vae.decoder.head(vae.hidden(z, vae.frame_matrix[tokens])).float()
    logits[..., 0] = float("-inf")
    rolled = Runs.after([], 2, rules.for_strategy(True))
    for t in range(steps):
        assert torch.equal(rolled.mask(logits[:, t]).argmax(-1), tokens[:, t])
        rolled.push(tokens[:, t])


def test_generate_follows_a_seed_and_draws_unk_frames(test_rolls):
    vocab = ChordVocab.build(test_rolls)
    model = tiny_model(vocab, decoder="conductor").eval()
    with torch.no_grad():
        model.decoder.head.bias[0] = 50.0  # UNK every frame: its frame comes from the Bernoulli
    z = torch.randn(3, 8)
    sampled = lambda seed: model.generate(  # noqa: E731
        z, 20, generator=torch.Generator().manual_seed(seed)
    )
    a = sampled(1)
    assert torch.equal(a, sampled(1)) and not torch.equal(a, sampled(2))
    assert a.shape == (3, 20, 88) and (a.sum(-1) > 0).all()  # drawn frames, not UNK's silence
    greedy = model.generate(z, 20, greedy=True)
    assert torch.equal(greedy, model.generate(z, 20, temperature=0.0))
    assert set(greedy.unique().tolist()) <= {0.0, 1.0}


# Recorded from the shipped checkpoints: greedy decodes (run lengths of 128 token ids) of
# z = randn(2, D, seed 11), unchanged since before the decoders had names; and
# sample(2, temperature=0.8, seed=1, steps=20) through pianoplay.decoding's "sample"
# (re-recorded 2026-11-25 when sampling moved from torch.multinomial to the inverse-CDF draw
# of pianoplay.decoding.sampling.draw: the same distribution, another use of the generator).
SHIPPED_TOKENS = {
    "vae-nottingham": {
        "greedy": [[(1, 128)], [(3, 128)]],
        "sample": [[123, 123, 123, 146, 146, 146, 146, 146, 146, 210, 746, 302, 302, 255, 302,
                    713, 255, 255, 255, 302],
                   [14, 14, 14, 35, 35, 28, 13, 13, 28, 13, 14, 14, 14, 28, 28, 30, 14, 28, 14,
                    28]],
    },
    "vae-nottingham-flat": {
        "greedy": [[(27, 6), (36, 122)], [(60, 128)]],
        "sample": [[2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 81, 81, 81, 81, 90, 90, 81, 81, 26, 31],
                   [6, 6, 6, 45, 45, 3, 3, 3, 6, 3, 3, 3, 3, 6, 19, 19, 6, 18, 6, 19]],
    },
}


@pytest.mark.parametrize("name", list(SHIPPED_TOKENS))
def test_shipped_checkpoints_give_the_recorded_tokens(name):
    from pianoplay.paths import CHECKPOINTS_DIR

    folder = CHECKPOINTS_DIR / name
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"the shipped checkpoint {name} is not installed")
    vae = TrainedVAE.from_checkpoint(folder, "cpu")
    rules = vae.model.rules
    vae.model.rules = Rules()  # recorded without the checkpoint's decoding rules
    expect = SHIPPED_TOKENS[name]
    z = torch.randn(2, vae.latent_dim, generator=torch.Generator().manual_seed(11)).numpy()
    greedy = [vocab_runs(vae.vocab.encode(r)) for r in vae.decode(z, greedy=True)]
    assert greedy == expect["greedy"]
    sampled = [vae.vocab.encode(r).tolist() for r in vae.sample(2, temperature=0.8, seed=1,
                                                                  steps=20)]
    assert sampled == expect["sample"]
    vae.model.rules = rules
    if rules.max_hold:  # vae-nottingham: a frame at most max_hold times in a row
        for roll in vae.decode(z, greedy=True) + vae.sample(4, temperature=0.75, seed=3):
            runs = vocab_runs(vae.vocab.encode(roll))
            assert max(n for _, n in runs) <= rules.max_hold


def vocab_runs(tokens) -> list[tuple[int, int]]:
    return [(int(k), len(list(g))) for k, g in itertools.groupby(tokens)]


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
    axes = vae.axes = fit_latent_axes(vae, test_rolls, save=False)
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
    from pianoplay.models.latent.axes import attributes

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

    from pianoplay.models.music_vae.train import train

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
