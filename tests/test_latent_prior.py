"""The latent prior over vae-faithful's codes (issue 18): a tiny prior trains, saves, loads
through the registry and samples; infilling keeps every note outside the chosen bars,
continues to the asked length, changes with the seed, and refuses bad ranges in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pianoplay.models.latent_prior.codes import CodeSet, encode_pieces
from pianoplay.models.latent_prior.infill import InfillError, infill, parse_bars
from pianoplay.models.latent_prior.model import PriorConfig
from pianoplay.models.latent_prior.options import PriorTrainConfig
from pianoplay.models.registry import Registry
from pianoplay.music.measures import grid_notes, onset_f1_in_place
from pianoplay.music.midi_write import write_midi
from pianoplay.paths import CHECKPOINTS_DIR, data_dir

NOTTINGHAM_TEST = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


@pytest.fixture(scope="module")
def vae(registry):
    return registry.load("vae-faithful")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, vae):
    """A two-style prior of 1 layer trained for 30 steps on the codes of 6 test tunes,
    written as a checkpoint beside a link to vae-faithful and loaded by the registry."""
    from pianoplay.models.latent_prior.fitting import fit_codes

    root = tmp_path_factory.mktemp("checkpoints")
    (root / "vae-faithful").symlink_to(CHECKPOINTS_DIR / "vae-faithful")
    rolls = [vae.load(f).roll for f in NOTTINGHAM_TEST[:6]]
    pieces, shifts = encode_pieces(vae, rolls, shifts=(0, 2))
    sets = [CodeSet(name, pieces, shifts) for name in ("a", "b")]
    mc = PriorConfig(styles=["a", "b"], d_model=32, n_layers=1, n_heads=2, d_ff=64,
                     sample_steps=4)
    tc = PriorTrainConfig(batch=8, max_steps=30, eval_every=15, valid_windows=4,
                          warmup_steps=5, max_minutes=5)
    why = fit_codes(root / "tiny-prior", mc, tc, sets, sets, dict(vae.config["representation"]))
    assert why == "steps"
    config = json.loads((root / "tiny-prior" / "config.json").read_text())
    assert config["family"] == "latent-prior" and config["via"] == "vae-faithful"
    return Registry(root)


def test_tiny_prior_trains_loads_and_samples(tiny):
    prior = tiny.load("tiny-prior")
    assert prior.vae is tiny.load("vae-faithful")  # decoded through its 'via' checkpoint
    z = prior.sample(3, style="b", seed=1)
    assert z.shape == (3, 16, 256) and np.isfinite(z).all()
    assert not np.allclose(z[0], z[1])  # three different pieces
    np.testing.assert_allclose(prior.sample(3, style="b", seed=1), z, atol=1e-5)
    rolls = prior.sample_pieces(2, style="a", seed=2, steps=64)
    assert [r.shape for r in rolls] == [(64, 88, 2)] * 2
    with pytest.raises(Exception, match="style must be one of a, b"):
        prior.sample(1, style="jazz")


def test_tiny_masked_prior_writes_real_bars(vae, tmp_path):
    """The masked objective: a codebook of refined bars (each decodes to its own bar), ids
    sampled in any order; known codes are kept, unknown ones are codebook entries."""
    from pianoplay.models.latent_prior.codebook import build_codebook, segment_states
    from pianoplay.models.latent_prior.fitting import fit_codes
    from pianoplay.models.latent_prior.trained import TrainedPrior

    rolls = [vae.load(f).roll for f in NOTTINGHAM_TEST[:5]]
    pieces, shifts = encode_pieces(vae, rolls, shifts=(0,))
    cs = CodeSet("a", pieces, shifts)
    codebook, centroids, ids = build_codebook(vae, [cs], [rolls], 32, refine_steps=60)
    assert codebook.shape == (1, 32, 256)  # one bar per style and id
    decoded = vae.decode(codebook[0][:, None])  # (32,) rolls of one segment
    states = np.stack([segment_states(r, 0, 16) for r in decoded])
    assert (states > 0).any(axis=(1, 2)).mean() > 0.8  # entries are bars with notes
    mc = PriorConfig(styles=["a"], d_model=32, n_layers=1, n_heads=2, d_ff=64,
                     objective="masked", codebook_size=32)
    tc = PriorTrainConfig(batch=8, max_steps=20, eval_every=10, valid_windows=4,
                          warmup_steps=5, mix=[1.0])
    sets = [CodeSet("a", list(ids[0]), shifts)]
    fit_codes(tmp_path / "m", mc, tc, sets, sets, dict(vae.config["representation"]),
              books={"codebook": codebook, "centroids": centroids})
    prior = TrainedPrior.from_checkpoint(tmp_path / "m", via=vae)
    known = np.zeros(20, bool)
    known[:6] = True
    out = prior.complete(pieces[0][:20], known, seed=1)
    np.testing.assert_array_equal(out[:6], pieces[0][:6])
    rows = {tuple(np.round(r, 4)) for r in codebook[0]}
    assert all(tuple(np.round(r, 4)) in rows for r in out[6:])


@pytest.mark.parametrize("name", ["prior-bars", "prior-faithful"])
def test_shipped_priors_load_through_the_registry(registry, name):
    info = registry.info(name)
    assert info.spec.name == "latent-prior" and info.config["via"] == "vae-faithful"
    assert "latent-prior" in info.config["training"]["command"]
    prior = registry.load(name)
    (roll,) = prior.sample_pieces(1, style="nottingham", seed=0)
    assert roll.shape == (256, 88, 2) and roll[..., 1].sum() > 16  # notes, not silence


def test_vae_faithful_samples_through_its_prior(registry):
    assert registry.sampler("vae-faithful") == "prior-bars"
    assert registry.styles("vae-faithful") == ["nottingham", "piano-midi-de"]


def test_samples_sit_in_the_register_of_their_style(registry):
    """A sample of prior-bars is its decoded codes moved whole (-6..+5 semitones) to a
    mean pitch drawn from the style's training pieces (Nottingham: 66.2 +- 2.3)."""
    from pianoplay.music.roll import shift_keys

    prior = registry.load("prior-bars")
    register = prior.config["registers"]["nottingham"]
    rolls = prior.sample_pieces(4, style="nottingham", seed=3)
    raw = prior.vae.decode(prior.sample(4, style="nottingham", seed=3))
    for roll, plain in zip(rolls, raw):
        assert any(np.array_equal(shift_keys(plain, s), roll) for s in range(-6, 6))
        mean = np.nonzero(roll[..., 1])[1].mean() + 21
        assert abs(mean - register["mean_pitch"]) < 4 * register["std"] + 0.5, mean


def test_continuity_keeps_notes_held_over_the_bar_lines(registry):
    """prior-bars prefers bars that continue the notes their neighbours hold over the bar
    line (config ``continuity``): its samples start fewer notes held from a bar that is
    not there than the same prior without the pull (8 pieces, same seed)."""
    prior = registry.load("prior-bars")
    vae = prior.vae
    held, end, _ = prior.bar_edges(0)
    assert held.shape == end.shape == (prior.model.cfg.codebook_size, 88)
    assert prior.continuity("nottingham") > 0 and prior.continuity("piano-midi-de") == 0

    def orphans(rolls) -> int:
        L = vae.segment_steps
        return sum(int(((r[k, :, 0] > 0) & (r[k, :, 1] == 0) & (r[k - 1, :, 0] == 0)).sum())
                   for r in rolls for k in range(L, len(r), L))

    pulled = orphans(vae.decode(prior.sample(8, style="nottingham", seed=4)))
    weight = prior.config["continuity"]
    try:
        prior.config["continuity"] = {"nottingham": 0.0}
        free = orphans(vae.decode(prior.sample(8, style="nottingham", seed=4)))
    finally:
        prior.config["continuity"] = weight
    assert pulled < 0.5 * free, (pulled, free)


def test_density_pull_busies_samples_but_not_infills(registry):
    """prior-bars leans, in piano-midi-de, towards the codebook's busier bars when it
    samples (config ``density``): 16 samples have more onsets than the same prior without
    the pull, same seed; a completion with context gets no lean (its rows are not free)."""
    prior = registry.load("prior-bars")
    assert prior.density("piano-midi-de") > 0 and prior.density("nottingham") == 0

    def onsets(z) -> int:
        return int(sum(r[..., 1].sum() for r in prior.vae.decode(z)))

    busy = onsets(prior.sample(16, style="piano-midi-de", seed=5))
    weight = prior.config["density"]
    try:
        prior.config["density"] = {}
        plain = onsets(prior.sample(16, style="piano-midi-de", seed=5))
    finally:
        prior.config["density"] = weight
    assert busy > 1.05 * plain, (busy, plain)
    assert prior.style_bias("piano-midi-de", free=torch.zeros(3, dtype=torch.bool)) is None


def test_parse_bars_refuses_in_one_line():
    assert parse_bars("5-8", 16) == parse_bars(" 5 - 8 ", 16)
    assert (parse_bars("17-24", 16).first, parse_bars("17-24", 16).last) == (16, 24)
    assert parse_bars("intro 4", 16).intro == 4
    for text, words in [("0-3", "within 1-32"), ("1-16", "whole piece"), ("abc", "look like"),
                        ("8-5", "backwards"), ("20-24", "right after"), ("1-40", "within"),
                        ("", "look like"), ("intro 40", "introduction")]:
        with pytest.raises(InfillError, match=words) as err:
            parse_bars(text, 16)
        assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def tune(vae):
    path = NOTTINGHAM_TEST[10]
    return path, vae.load(path)


def test_infill_keeps_every_note_outside_the_chosen_bars(registry, vae, tune, tmp_path):
    path, loaded = tune
    prior = registry.load(registry.sampler("vae-faithful"))
    span = parse_bars("5-8", len(loaded.bar_starts))
    result = infill(vae, prior, loaded, span, style="nottingham", seed=1)
    a, b = result.new_steps
    assert (a, b) == (loaded.bar_starts[4], loaded.bar_starts[8])
    assert result.roll.shape == loaded.roll.shape
    out = tmp_path / "out.mid"
    write_midi(vae.to_midi(result.roll, source=loaded), out)
    assert onset_f1_in_place(grid_notes(out, 4), grid_notes(path, 4), a, b) >= 0.98
    assert result.roll[a:b, :, 1].sum() > 0  # the new bars have notes
    other = infill(vae, prior, loaded, span, style="nottingham", seed=2)
    assert not np.array_equal(other.roll[a:b], result.roll[a:b])  # another seed, other bars
    np.testing.assert_array_equal(other.roll[:a], result.roll[:a])


def test_a_ranker_picks_among_the_best_fits_and_keeps_the_notes(registry, vae, tune):
    """prior-bars names roll-lstm-nottingham (not the benchmark's judge, chord-lstm-
    nottingham) to rank its folk-tune infills, and chord-lstm-classical (sixteenth frames;
    the judge is chord-lstm-classical-frames) for piano-midi-de. The ranked infill keeps
    every note outside the gap, and each ranker's cost is lower for the tune itself than
    for the tune with its bars 5-8 shifted a tritone away."""
    from pianoplay.models.latent_prior.infill import infill_ranker, ranker_costs
    from pianoplay.music.roll import shift_keys

    _, loaded = tune
    ranker = infill_ranker(registry, "prior-bars", "nottingham")
    assert ranker is registry.load("roll-lstm-nottingham")
    classical = infill_ranker(registry, "prior-bars", "piano-midi-de")
    assert classical is registry.load("chord-lstm-classical") and classical.steps_per_quarter == 4
    prior = registry.load("prior-bars")
    span = parse_bars("5-8", len(loaded.bar_starts))
    result = infill(vae, prior, loaded, span, style="nottingham", seed=1, ranker=ranker)
    a, b = result.new_steps
    np.testing.assert_array_equal(result.roll[:a], loaded.roll[:a])
    np.testing.assert_array_equal(result.roll[b:, :, 1], loaded.roll[b:, :, 1])  # onsets
    wrong = loaded.roll.copy()
    wrong[a:b] = shift_keys(loaded.roll[a:b], 6)
    lo, hi = loaded.bar_starts[3], loaded.bar_starts[9]
    for lm in (ranker, classical):
        own, shifted = ranker_costs(lm, [loaded.roll, wrong], lo, hi)
        assert own < shifted, lm.config.get("name")


def test_continuation_has_the_asked_length(registry, vae, tune):
    _, loaded = tune
    prior = registry.load(registry.sampler("vae-faithful"))
    n = len(loaded.bar_starts)
    result = infill(vae, prior, loaded, parse_bars(f"{n + 1}-{n + 8}", n), seed=3)
    assert len(result.bar_starts) == n + 8
    assert len(result.roll) == result.bar_starts[-1] + loaded.steps_per_bar
    assert result.roll[result.new_steps[0]:, :, 1].sum() > 0
    intro = infill(vae, prior, loaded, parse_bars("intro 2", n), seed=3)
    np.testing.assert_array_equal(intro.roll[2 * loaded.steps_per_bar:][:len(loaded.roll)],
                                  loaded.roll)


def test_a_file_without_notes_outside_is_refused(registry, vae, tune):
    _, loaded = tune
    prior = registry.load(registry.sampler("vae-faithful"))
    empty = type(loaded)(**{**loaded.__dict__, "roll": np.zeros_like(loaded.roll)})
    with pytest.raises(InfillError, match="no notes"):
        infill(vae, prior, empty, parse_bars("5-8", len(loaded.bar_starts)))


def test_cli_infill_writes_the_piece(tmp_path):
    from test_cli_e2e import assert_ok, assert_user_error, pianoplay

    path = NOTTINGHAM_TEST[12]
    assert_ok(pianoplay("infill", path, "--bars", "3-4", "--seed", "1", "--no-audio",
                        "--out", tmp_path / "o"))
    assert (tmp_path / "o" / "infill.png").is_file()
    assert onset_f1_in_place(grid_notes(tmp_path / "o" / "infill.mid", 4), grid_notes(path, 4),
                             *_bar_steps(path, 3, 4)) >= 0.98
    assert_user_error(pianoplay("infill", path, "--bars", "9-2", "--out", tmp_path / "o"),
                      "backwards")
    assert_user_error(pianoplay("infill", path, "--bars", "1-4", "--checkpoint",
                                "chord-lstm-nottingham", "--out", tmp_path / "o"), "infill")


def _bar_steps(path: Path, first: int, last: int) -> tuple[int, int]:
    loaded = Registry().load("vae-faithful").load(path)
    return loaded.bar_starts[first - 1], loaded.bar_starts[last]




def test_new_bars_strike_notes_where_the_piece_does():
    """silent_bars counts the bars that strike no note; an infill's candidates with such a
    bar fit less when every kept bar strikes one (so none is kept while others are drawn)."""
    from pianoplay.models.latent_prior.infill import silent_bars

    roll = np.zeros((64, 88, 2), np.uint8)
    roll[0, 40] = 1  # bar 1 struck; bar 2 only holds it on; bars 3-4 silent
    roll[:20, 40, 0] = 1
    bars = [(0, 16), (16, 32), (32, 48), (48, 64), (64, 80)]
    assert silent_bars(roll, bars) == 3  # the bar past the end does not count
    assert silent_bars(roll, bars[:1]) == 0
