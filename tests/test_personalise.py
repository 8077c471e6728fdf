"""Personal models (issue 19): a fit on a user's files is registered, samples and is
deleted; bad input is refused in one line with nothing left behind; two fits at once do
not corrupt each other; the CLI and the app's ``/personalise`` then ``/sample``.

The library tests fine-tune a tiny prior made here (over vae-faithful's real codes); the
CLI and the app fit the shipped prior-faithful for a few seconds, on Nottingham test
tunes neither model was trained on.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from pianoplay.errors import PianoplayError
from pianoplay.models.checkpoint import save_checkpoint
from pianoplay.models.latent_prior.model import Denoiser, PriorConfig
from pianoplay.models.latent_prior.personal import (
    PARTIAL,
    PersonalConfig,
    delete_personal,
    fit_personal,
)
from pianoplay.models.registry import Registry
from pianoplay.paths import CHECKPOINTS_DIR, data_dir

REPO = Path(__file__).resolve().parents[1]
TUNES = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))
TINY = PersonalConfig(base="tiny-prior", shift_min=0, shift_max=1, check_samples=2,
                      threads=1)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A checkpoint folder: vae-faithful (linked) and a tiny prior over its codes,
    standardised on the codes of two tunes."""
    root = tmp_path_factory.mktemp("checkpoints")
    (root / "vae-faithful").symlink_to(CHECKPOINTS_DIR / "vae-faithful")
    vae = Registry(root, device="cpu", personal=root / "none").load("vae-faithful")
    codes = np.concatenate(vae.encode_rolls([vae.load(f).roll for f in TUNES[:2]]))
    torch.manual_seed(0)
    cfg = PriorConfig(d_model=32, n_layers=1, n_heads=2, d_ff=64, styles=["jigs", "reels"],
                      sample_steps=4)
    model = Denoiser(cfg)
    model.mean.copy_(torch.from_numpy(codes.mean(0)))
    model.std.copy_(torch.from_numpy(codes.std(0) + 1e-3))
    save_checkpoint(root / "tiny-prior", {
        "name": "tiny-prior", "family": "latent-prior", "model": cfg.to_dict(),
        "via": "vae-faithful", "representation": vae.config["representation"]},
        model.state_dict())
    return root


@pytest.fixture
def registry(root, tmp_path) -> Registry:
    return Registry(root, device="cpu", personal=tmp_path / "personal")


def leftovers(registry: Registry) -> list[str]:
    """What a fit may have left in the personal folder besides finished checkpoints."""
    partial = registry.personal / PARTIAL
    return sorted(p.name for p in partial.iterdir()) if partial.is_dir() else []


def test_fit_registers_samples_and_deletes(registry):
    seen = []
    folder = fit_personal(TUNES[10:12], "my-tunes", registry, TINY,
                          progress=lambda f, what: seen.append(f))
    assert folder == registry.personal / "my-tunes"
    assert "my-tunes" in registry.names() and registry.is_personal("my-tunes")
    assert "my-tunes" in [i.name for i in registry.serving("sample")]
    assert seen[-1] == 1.0 and seen == sorted(seen)
    info = registry.info("my-tunes")
    assert info.family == "latent-prior" and info.config["via"] == "vae-faithful"
    assert info.config["model"]["styles"] == ["my-tunes"]
    p = info.config["personal"]
    assert p["files"] == [f.name for f in TUNES[10:12]]
    assert p["nearest_style"] in ("jigs", "reels") and p["steps"] == 0 and 0 < p["strength"] <= 1
    card = info.card()
    for f in TUNES[10:12]:
        assert f"| {f.name} | {p['bars'][f.name]} |" in card
    assert "fit time" in card and "copy check" in card and p["bars"][TUNES[10].name] > 4
    prior = registry.load("my-tunes")
    assert type(prior).__name__ == "PersonalPrior" and len(prior.anchors) == 2
    rolls = prior.sample_pieces(2, style="my-tunes", seed=1, steps=64)
    assert len(rolls) == 2 and rolls[0].shape == (64, 88, 2)
    again = registry.load("my-tunes").sample_pieces(2, style="my-tunes", seed=1, steps=64)
    assert all(np.array_equal(a, b) for a, b in zip(rolls, again))
    z = prior.sample(1, style="my-tunes", seed=2, segments=8)[0]  # Infill: its base's way
    known = np.arange(8) < 4
    filled = prior.complete(z, known, style="my-tunes", seed=3)
    assert np.allclose(filled[:4], z[:4], atol=1e-5) and not np.allclose(filled[4:], z[4:])
    assert leftovers(registry) == []
    delete_personal("my-tunes", registry)
    assert "my-tunes" not in registry.names() and not folder.exists()
    assert leftovers(registry) == []
    with pytest.raises(PianoplayError, match="no personal model named 'my-tunes'"):
        delete_personal("my-tunes", registry)


def test_personal_names_do_not_shadow_shipped_ones(registry, root):
    fit_personal(TUNES[12:13], "mine", registry, TINY)
    # a personal folder named like a shipped checkpoint (made by hand) is not listed
    (registry.personal / "mine").rename(registry.personal / "tiny-prior")
    assert registry.names().count("tiny-prior") == 1
    assert registry.info("tiny-prior").path == (root / "tiny-prior").resolve()
    with pytest.raises(PianoplayError, match="shipped checkpoint"):
        delete_personal("tiny-prior", registry)


def refusal(registry, files, name="ok-name", config=TINY) -> str:
    with pytest.raises(PianoplayError) as err:
        fit_personal(files, name, registry, config)
    message = str(err.value)
    assert "\n" not in message
    assert registry.names() == ["tiny-prior", "vae-faithful"]
    assert leftovers(registry) == []
    return message


def test_bad_input_is_refused_in_one_line(registry, tmp_path, midi_file):
    tune = TUNES[20]
    assert "at least one" in refusal(registry, [])
    assert "at most 20" in refusal(registry, [tune] * 21)
    big = tmp_path / "big.mid"
    big.write_bytes(tune.read_bytes() + b"\0" * 2_100_000)
    assert "big.mid is 2.1 MB" in refusal(registry, [tune, big])
    text = tmp_path / "notes.txt"
    text.write_text("not music")
    assert "not a MIDI file" in refusal(registry, [text])
    assert "no such file" in refusal(registry, [tmp_path / "gone.mid"])
    empty = midi_file([], name="empty.mid")
    assert "empty.mid" in refusal(registry, [tune, empty])
    drums = midi_file([(36, 0, 240), (38, 480, 720)], name="drums.mid", channel=9)
    assert "drum" in refusal(registry, [drums])
    below = midi_file([(10, 0, 960), (12, 960, 1920)], name="below.mid")
    assert "no pitched notes within the piano's range" in refusal(registry, [below])
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"MThd not really")
    assert "junk.mid" in refusal(registry, [junk])
    for bad in ("", "My Style", "../up", "a/b", "-x", "x" * 41, "naïve"):
        assert "name" in refusal(registry, [tune], bad)
    assert "exists already" in refusal(registry, [tune], "vae-faithful")
    fit_personal([tune], "taken", registry, TINY)
    with pytest.raises(PianoplayError, match="'taken' exists already"):
        fit_personal([tune], "taken", registry, TINY)


def test_two_fits_at_once(registry):
    """Two fits of one name: one lands, the other is refused; two names: both land whole."""
    results = {}

    def fit(key, name, files):
        try:
            results[key] = fit_personal(files, name, registry, TINY)
        except PianoplayError as err:
            results[key] = err

    jobs = [threading.Thread(target=fit, args=(k, n, f)) for k, n, f in (
        (1, "same", TUNES[30:31]), (2, "same", TUNES[31:32]),
        (3, "other", TUNES[32:33]))]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    same = [results[1], results[2]]
    landed = [r for r in same if isinstance(r, Path)]
    refused = [r for r in same if isinstance(r, PianoplayError)]
    assert len(landed) == 1 and len(refused) == 1
    assert "same" in str(refused[0]) and "\n" not in str(refused[0])
    assert isinstance(results[3], Path)
    for name in ("same", "other"):
        prior = registry.load(name)
        assert prior.styles == [name]
        assert prior.sample_pieces(1, style=name, seed=0, steps=32)[0].shape == (32, 88, 2)
    assert leftovers(registry) == []


def pianoplay(*args, personal: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PIANOPLAY_PERSONAL": str(personal)}
    return subprocess.run([sys.executable, "-m", "pianoplay", *map(str, args)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_cli_personalise_list_sample_delete(tmp_path):
    """The CLI fits the shipped prior for a few seconds (--personal-dir), lists the model,
    samples it, deletes it; refusals are one line on stderr with exit status 2."""
    personal = tmp_path / "mine"
    other = tmp_path / "env"  # the flag wins over $PIANOPLAY_PERSONAL
    made = pianoplay("personalise", *TUNES[40:42], "--name", "cli-style", "--seconds", "2",
                     "--personal-dir", personal, personal=other)
    assert made.returncode == 0, made.stderr
    assert "| " + TUNES[40].name + " |" in made.stdout and "fit time" in made.stdout
    assert (personal / "cli-style" / "model.safetensors").is_file() and not other.exists()
    listed = pianoplay("checkpoints", "--json", personal=personal)
    assert "cli-style" in [c["name"] for c in json.loads(listed.stdout)]
    out = tmp_path / "out"
    sampled = pianoplay("sample", "--checkpoint", "cli-style", "-n", "1", "--bars", "4",
                        "--seed", "1", "--no-audio", "--out", out, personal=personal)
    assert sampled.returncode == 0, sampled.stderr
    assert list(out.glob("*.mid"))
    for args, words in (
        (("personalise", TUNES[40], "--name", "cli-style"), "exists already"),
        (("personalise", TUNES[40], "--name", "Bad Name"), "not a plain name"),
        (("personalise", "--delete", "vae-faithful"), "shipped"),
    ):
        bad = pianoplay(*args, personal=personal)
        assert bad.returncode == 2, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1 and words in bad.stderr, bad.stderr
    gone = pianoplay("personalise", "--delete", "cli-style", personal=personal)
    assert gone.returncode == 0, gone.stderr
    assert not (personal / "cli-style").exists()


@pytest.mark.slow
def test_app_personalise_then_sample(tmp_path):
    """Through the app's API: /personalise on two unseen tunes (a full fit, under a
    minute), then /sample with the new name; refusals come back as errors; delete."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from pianoplay.ui.server import start_app

    personal = tmp_path / "personal"
    server = start_app("--personal-dir", str(personal), "--no-warm-up")
    try:
        client = Client(server.url, verbose=False)
        files = [handle_file(str(f)) for f in TUNES[50:52]]
        name, card = client.predict(files, "app-style", api_name="/personalise")
        assert name == "app-style" and TUNES[50].name in card and "fit time" in card
        fit = json.loads((personal / "app-style" / "config.json").read_text())["personal"]
        assert fit["seconds"] <= 60
        wavs, midis, pngs = client.predict(checkpoint="app-style", count=1, bars=8, seed=1,
                                           style="app-style", api_name="/sample")[:3]
        assert len(midis) == 1 and Path(midis[0]).stat().st_size > 0
        with pytest.raises(AppError, match="exists already"):
            client.predict(files, "app-style", api_name="/personalise")
        with pytest.raises(AppError, match="not a plain name"):
            client.predict(files, "../x", api_name="/personalise")
        assert "Deleted" in client.predict("app-style", api_name="/delete_personal")
        assert not (personal / "app-style").exists()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def masked_root(root) -> Path:
    """Beside the tiny diffusion prior: a tiny masked prior (16 clusters of two tunes'
    codes), the kind the shipped prior-bars is, so fits over it make a palette."""
    from pianoplay.models.latent_prior.codebook import kmeans
    from pianoplay.models.latent_prior.networks import build_model

    vae = Registry(root, device="cpu", personal=root / "none").load("vae-faithful")
    codes = np.concatenate(vae.encode_rolls([vae.load(f).roll for f in TUNES[:2]]))
    torch.manual_seed(0)
    cfg = PriorConfig(d_model=32, n_layers=1, n_heads=2, d_ff=64, styles=["jigs", "reels"],
                      objective="masked", codebook_size=16)
    model = build_model(cfg)
    centroids = torch.from_numpy(kmeans(codes, 16, iters=3))
    model.centroids.copy_(centroids)
    model.codebook.copy_(centroids[None].expand(2, -1, -1))
    save_checkpoint(root / "tiny-masked", {
        "name": "tiny-masked", "family": "latent-prior", "model": cfg.to_dict(),
        "via": "vae-faithful", "representation": vae.config["representation"]},
        model.state_dict())
    return root


def test_palette_fit_samples_your_bars_and_is_deleted(masked_root, tmp_path, monkeypatch):
    """Over a masked base the fit keeps the uploads' bars: every sampled bar is one of them
    (decoded exactly: it is refined), no more than ``max_run`` come in a file's order, the
    strict mode keeps clusters apart that neighbour in an upload, Infill keeps the known
    bars; the model is registered, listed for Sample and deleted."""
    from pianoplay.models.latent_prior.palette import PalettePrior

    registry = Registry(masked_root, device="cpu", personal=tmp_path / "personal")
    config = PersonalConfig(base="tiny-masked", check_samples=2, threads=1, copy_f1=1.01)
    folder = fit_personal(TUNES[10:12], "my-bars", registry, config)
    assert "my-bars" in [i.name for i in registry.serving("sample")]
    p = registry.info("my-bars").config["personal"]
    assert p["kind"] == "palette" and p["max_run"] == 2 and p["nearest_style"] in ("jigs", "reels")
    assert "| " + TUNES[10].name + " |" in registry.info("my-bars").card()
    prior = registry.load("my-bars")
    assert isinstance(prior, PalettePrior) and prior.styles == ["my-bars"]
    bias = prior.palette.bias  # the pull towards the files' own bars: on their clusters only
    assert np.isfinite(bias).all() and not bias[~prior.allowed.numpy()].any()
    assert bias[prior.allowed.numpy()].any() and prior.bias is not None
    bars = prior.palette.bars
    assert len(bars) >= p["bars"][TUNES[10].name]
    vae, L, exact = prior.vae, prior.vae.segment_steps, 0
    for row in range(8):  # refined: the VAE writes the bars of the file
        f, j = prior.palette.origin[row]
        roll = vae.representation.load(TUNES[10 + f]).roll
        first = next(i for i in range(len(roll)) if roll[i * L:(i + 1) * L].any())
        want = roll[(first + j) * L:(first + j + 1) * L, :, 0] > 0
        exact += np.array_equal(vae.decode(bars[row][None, None])[0][..., 0] > 0, want)
    assert exact >= 7, exact
    assert prior.palette.states is not None and prior.palette.states.dtype == np.uint8
    kept = prior.bar_rolls()  # the bars themselves are kept, as the file has them
    for row in range(len(bars)):
        f, j = prior.palette.origin[row]
        roll = vae.representation.load(TUNES[10 + f]).roll
        first = next(i for i in range(len(roll)) if roll[i * L:(i + 1) * L].any())
        part = roll[(first + j) * L:(first + j + 1) * L]
        assert np.array_equal(kept[row][:len(part)] > 0, part > 0)
    z = prior.sample(2, style="my-bars", seed=3, segments=5)  # samples write them exactly
    rolls = prior.rolls_of(z)
    for piece, roll in zip(z, rolls):
        rows = prior.palette_rows(piece)
        assert (rows >= 0).all() and np.array_equal(roll, np.concatenate(kept[rows]))
    other = z[:1].copy()  # a code that is no palette bar is decoded by the VAE
    other[0, 2] += 0.5
    mixed = prior.rolls_of(other)[0]
    assert prior.palette_rows(other[0])[2] == -1
    assert np.array_equal(mixed[2 * L:3 * L], vae.decode(other[0, 2:3])[0])
    assert np.array_equal(mixed[:2 * L], rolls[0][:2 * L])
    held, end, _ = prior.bar_edges(0)  # the continuity pull reads your bars' edges
    k, members = next(iter(prior.members.items()))
    first = kept[members][:, 0]
    assert torch.allclose(held[k], torch.as_tensor(((first[..., 0] > 0) & (first[..., 1] == 0))
                                                   .mean(0), dtype=torch.float32))
    assert torch.allclose(end[k], torch.as_tensor((kept[members][:, -1, :, 0] > 0).mean(0),
                                                  dtype=torch.float32))
    assert not held[~prior.allowed].any() and p["continuity"] == 2.0

    def repeats(p) -> float:  # share of bars that one earlier in the piece already was
        rows = [p.palette_rows(piece) for piece in p.sample(6, "my-bars", seed=4, segments=12)]
        return float(np.mean([[r in row[:i] for i, r in enumerate(row)] for row in rows]))

    looping = copy.deepcopy(prior.config)
    looping["personal"]["repeat"] = 0.0
    assert repeats(prior) < repeats(PalettePrior(prior.base, looping, prior.folder,
                                                 prior.palette))
    from dataclasses import replace  # a palette fitted before bars were kept: decoded codes

    from pianoplay.models.latent_prior import palette as palette_module

    monkeypatch.setattr(palette_module, "MAX_BARS", 6)  # long files: bars spread over them
    capped = fit_personal(TUNES[10:12], "my-few-bars", registry, config)
    few = registry.load("my-few-bars")
    info = registry.info("my-few-bars").config["personal"]
    assert len(few.palette.bars) == 6 and set(few.palette.origin[:, 0]) == {0, 1}
    assert info["bars_in_files"] == len(bars) > 6
    assert f"6 of your {len(bars)} bars" in registry.info("my-few-bars").card()
    assert few.sample_pieces(1, seed=0, steps=64)[0].shape == (64, 88, 2)
    delete_personal("my-few-bars", registry)
    assert not capped.exists()
    monkeypatch.undo()

    older = PalettePrior(prior.base, prior.config, prior.folder,
                         replace(prior.palette, states=None))
    assert np.array_equal(older.bar_rolls()[:3], np.stack(vae.decode(bars[:3, None])))
    picked = []  # the palette rows each piece is written with (a file repeats bars, and
    pick = prior.pick_bars  # repeated bars share a code: codes do not tell rows apart)
    prior.pick_bars = lambda ids, known, rng: picked.append(pick(ids, known, rng)) or picked[-1]
    z = prior.sample(3, style="my-bars", seed=1, segments=12)
    del prior.pick_bars
    assert z.shape == (3, 12, bars.shape[1]) and len(picked) == 3
    for piece, rows in zip(z, picked):
        assert np.array_equal(piece, bars[rows])
        origin = prior.palette.origin[rows]
        run = 1
        for a, b in zip(origin, origin[1:]):
            run = run + 1 if (b[0] == a[0] and b[1] == a[1] + 1) else 1
            assert run <= 2
        sounds = prior.bar_rolls()[rows]  # never the same bar twice in a row
        assert not any(np.array_equal(a, b) for a, b in zip(sounds, sounds[1:]))
    assert not np.array_equal(z, prior.sample(3, style="my-bars", seed=2, segments=12))
    assert prior.sample_pieces(1, style="my-bars", seed=1, steps=64)[0].shape == (64, 88, 2)
    # samples sit where the files do, in their own keys (the palette's bars are in C)
    register = prior.register("my-bars")
    means = []
    for f in TUNES[10:12]:
        loaded = vae.representation.load(f)
        means.append(np.nonzero(loaded.roll[..., 1])[1].mean() + 21 - loaded.transpose)
    assert register["pieces"] == 2 and abs(register["mean_pitch"] - np.mean(means)) < 0.01
    for roll in prior.sample_pieces(4, style="my-bars", seed=2):
        mean = np.nonzero(roll[..., 1])[1].mean() + 21
        assert abs(mean - register["mean_pitch"]) < 4 * register["std"] + 1, mean
    # a sample that copies a 4-bar window of a file is drawn again (the least copying kept)
    from pianoplay.models.latent_prior.trained import TrainedPrior

    rows = np.flatnonzero(prior.palette.origin[:, 0] == 0)[:8]
    assert prior.copy_f1(np.concatenate(prior.bar_rolls()[rows])) > 0.9  # a file's bars
    plain = TrainedPrior.sample_pieces(prior, 3, style="my-bars", seed=7)
    guarded = prior.sample_pieces(3, style="my-bars", seed=7)
    for a, g in zip(plain, guarded):
        assert prior.copy_f1(g) <= prior.copy_f1(a)
        assert prior.copy_f1(g) < palette_module.COPY_LIMIT or np.array_equal(a, g) is False
    # the density pull leans on the palette's busier clusters, for samples only
    busier = prior.busier()
    assert busier.shape == prior.allowed.shape and not busier[~prior.allowed].any()
    assert p["density"] == config.density > 0
    prior.config["personal"]["max_run"] = 0  # strict: what may stand after cluster a
    assert prior.after.any() and prior.sample(1, style="my-bars", seed=3).shape[1] == 16
    for a in np.unique(prior.palette.ids):
        ids = torch.tensor([[int(a), 0, 0]])
        known = torch.tensor([[True, False, True]])
        ids[0, 2] = int(prior.palette.ids[0])
        ok = prior.unlike_uploads(ids, known, torch.tensor([1]))[0]
        want = prior.allowed & ~prior.after[int(a)] & ~prior.after[:, ids[0, 2]]
        assert torch.equal(ok, want if want.any() else prior.allowed)
    known = np.arange(12) < 6
    filled = prior.complete(z[0], known, style="my-bars", seed=4)
    assert np.array_equal(filled[:6], z[0][:6])
    with pytest.raises(PianoplayError, match="style"):
        prior.sample(1, style="jigs")
    from pianoplay.ui.actions import Actions  # Latent sliders: its pieces are start points

    actions = Actions(registry)
    assert "my-bars" in [i.name for i in registry.serving("latent")]
    start = actions.latent_z("my-bars", 5, {}, None)
    assert np.allclose(start, prior.sample(1, style="my-bars", seed=5)[0])
    moved = actions.latent_z("my-bars", 5, {"density": 1.0}, None)
    assert moved.shape == start.shape and not np.allclose(moved, start)
    delete_personal("my-bars", registry)
    assert not folder.exists() and "my-bars" not in registry.names()
