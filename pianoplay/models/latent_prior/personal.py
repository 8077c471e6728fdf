"""A personal prior from a user's own MIDI files, on the CPU in seconds (issue 19).

The uploads are read on the VAE's grid (key moved to C) and encoded by the frozen VAE
(posterior means, one code per 16 sixteenths). The base style whose denoising loss on
them is lowest becomes the model's one style (named after it), and their codes are stored
with it: :class:`~.personal_prior.PersonalPrior` samples variations of them (bars laid
into a window, noised to ``strength`` and rewritten by the prior). A copy check samples
``check_samples`` pieces and raises the strength while one copies a 4-bar window of an
upload. Fine-tuning the prior on the uploads' windows (all keys, the base's masks) is an
option (``train_seconds``): in the CPU minute it moved the samples no closer to the
uploads' style (bench/personalise.py), so it is off by default.

The checkpoint is written into a hidden folder of the personal folder and renamed into
place at the end, so a failed or interrupted fit leaves nothing listed, and two fits of
one name cannot both land (the second is refused).

    folder = fit_personal(["a.mid", "b.mid"], "my-style", registry)
    Registry().load("my-style").sample_pieces(4, seed=1)
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pianoplay.config_io import from_dict, to_dict
from pianoplay.errors import MidiError, PianoplayError
from pianoplay.models.checkpoint import save_checkpoint
from pianoplay.models.latent_prior import FAMILY
from pianoplay.models.latent_prior.codes import encode_pieces
from pianoplay.models.latent_prior.model import Denoiser, PriorConfig, count_parameters, loss, masks
from pianoplay.models.latent_prior.networks import build_model
from pianoplay.models.latent_prior.personal_prior import ANCHORS, PersonalPrior, save_anchors
from pianoplay.models.latent_prior.trained import TrainedPrior
from pianoplay.music.measures import grid_notes
from pianoplay.music.midi import MidiLimits
from pianoplay.music.novelty import CopyIndex, chunks
from pianoplay.music.similarity import set_similarity

MAX_FILES = 20
MAX_BYTES = 2_000_000
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
RESERVE_S = 15.0  # seconds a fit keeps after fine-tuning (copy check, writing)
PARTIAL = ".partial"  # hidden folder of fits under way (never listed)
SUFFIXES = (".mid", ".midi")
# a user's own pieces: 2 MB each, but long, slow or dense pieces are theirs to give
LIMITS = MidiLimits(max_bytes=MAX_BYTES, max_notes=200_000, max_seconds=4 * 3600.0,
                    min_bpm=1.0, max_bpm=10_000.0)


@dataclass
class PersonalConfig:
    base: str = "prior-bars"  # a masked prior: a palette of your bars; diffusion: anchors
    max_run: int = 2  # palette: at most this many bars in a row in an upload's own order
    bias: float = 1.0  # palette: weight of the pull towards the uploads' own bar counts
    continuity: float = 2.0  # palette: pull towards bars continuing held notes
    density: float = 0.1  # palette: pull towards its busier clusters when sampling
    repeat: float = 1.5  # palette: logits less per time a cluster is already in the piece
    shift_min: int = -5  # the keys the uploads are encoded in for fine-tuning (anchors:
    shift_max: int = 6  # in C, as the files are read)
    chunk: int = 1  # bars laid together from one place of an upload into a starting window
    strength: float = 0.2  # how far a sample is noised from a window of the uploads (0..1)
    copy_f1: float = 0.7  # a check sample's 4-bar window this close to an upload: stronger
    check_samples: int = 16
    train_seconds: float = 0.0  # fine-tuning the prior on the uploads (0: none; measured)
    batch: int = 32
    lr: float = 1e-4
    max_steps: int = 200
    seconds: float = 50.0  # the whole fit's budget: fine-tuning stops in time to keep it
    threads: int = 1
    seed: int = 0

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "personal") -> PersonalConfig:
        return from_dict(cls, d, where)


@dataclass
class Upload:
    name: str  # file name as the user gave it
    codes: list[np.ndarray]  # (S, D) per transposition, silent bars at either end cut
    bars: int  # segments (bars of 16 sixteenths) used
    roll: np.ndarray | None = None  # (T, 88, 2) in C, silent bars at either end cut
    mean_pitch: float | None = None  # of its notes' onsets, in the file's own key


def check_name(name: str, registry) -> str:
    """A plain, new checkpoint name (lower case letters, digits, - and _), or one line."""
    name = (name or "").strip()
    if not name:
        raise PianoplayError("give the personal model a name (e.g. my-style).")
    if not NAME.fullmatch(name):
        raise PianoplayError(f"{name!r} is not a plain name: use up to 40 lower-case letters, "
                             "digits, '-' and '_', starting with a letter or digit.")
    if name in registry.names():
        raise PianoplayError(f"a checkpoint named {name!r} exists already; pick another name "
                             "or delete it first.")
    return name


def check_files(files) -> list[Path]:
    """1 to ``MAX_FILES`` readable MIDI files of at most ``MAX_BYTES`` each, or one line."""
    files = [Path(f) for f in (files or [])]
    if not files:
        raise PianoplayError("give at least one MIDI file.")
    if len(files) > MAX_FILES:
        raise PianoplayError(f"give at most {MAX_FILES} MIDI files, not {len(files)}.")
    for f in files:
        if not f.is_file():
            raise PianoplayError(f"{f.name}: no such file.")
        if f.suffix.lower() not in SUFFIXES:
            raise PianoplayError(f"{f.name} is not a MIDI file (.mid or .midi).")
        if f.stat().st_size > MAX_BYTES:
            raise PianoplayError(f"{f.name} is {f.stat().st_size / 1e6:.1f} MB; each file may "
                                 f"be at most {MAX_BYTES / 1e6:g} MB.")
    return files


def read_uploads(vae, files, shifts, names=None) -> list[Upload]:
    """Each file's code sequences at every shift; refuses (one line) files with no notes."""
    out = []
    for k, path in enumerate(files):
        name = names[k] if names else Path(path).name
        try:
            loaded = vae.representation.load(path, limits=LIMITS)
        except MidiError as err:
            text = str(err)
            raise PianoplayError(text if name in text else f"{name}: {text}") from None
        roll = np.asarray(loaded.roll)
        L = vae.segment_steps
        S = -(-len(roll) // L)
        sounding = [bool(roll[i * L:(i + 1) * L].any()) for i in range(S)]
        if not any(sounding):
            raise PianoplayError(f"{name} has no usable bars (no notes on the grid).")
        first = sounding.index(True)
        last = S - sounding[::-1].index(True)
        roll = roll[first * L:last * L]
        codes, _ = encode_pieces(vae, [roll], shifts)
        pitches = np.nonzero(roll[..., 1] > 0)[1] if roll.ndim == 3 else np.nonzero(roll)[1]
        mean = float(pitches.mean() + 21 - loaded.transpose) if len(pitches) else None
        out.append(Upload(name, codes, last - first, roll, mean))
    return out


def windows_of(uploads: list[Upload], W: int) -> list[tuple[int, int, int, int]]:
    """(upload, shift index, first code, length) of every window: ``W`` codes, or the whole
    sequence when it is shorter."""
    out = []
    for u, up in enumerate(uploads):
        for s, z in enumerate(up.codes):
            n = min(W, len(z))
            out += [(u, s, a, n) for a in range(len(z) - n + 1)]
    return out


def batch(model: Denoiser, uploads, windows, B: int, rng: np.random.Generator):
    """Standardised codes (B, S, D) of windows of one length (the length of a window drawn
    first: short pieces train on themselves, long ones on 16 codes)."""
    first = windows[rng.integers(len(windows))]
    same = [w for w in windows if w[3] == first[3]]
    pick = rng.integers(len(same), size=B)
    z = np.stack([uploads[u].codes[s][a:a + n] for u, s, a, n in (same[i] for i in pick)])
    return model.normalise(torch.from_numpy(z))


@torch.no_grad()
def upload_loss(model: Denoiser, uploads, windows, style: int, n: int = 64) -> float:
    """Denoising loss (nothing known) on up to ``n`` fixed windows, in ``style``."""
    model.eval()
    rng = np.random.default_rng(0)
    gen = torch.Generator().manual_seed(0)
    total, count = 0.0, 0
    for _ in range(max(1, n // 16)):
        x = batch(model, uploads, windows, 16, rng)
        known = torch.zeros(x.shape[:2], dtype=torch.bool)
        total += float(loss(model, x, known, torch.full((len(x),), style), gen))
        count += 1
    return total / count


@contextmanager
def torch_threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_model(base: Denoiser, uploads, pc: PersonalConfig, name: str, progress=None,
              start: float | None = None) -> tuple[Denoiser, dict]:
    """The fine-tuned copy of ``base`` (one style, ``name``) and what the fit measured."""
    start = time.perf_counter() if start is None else start
    windows = windows_of(uploads, base.cfg.segments)
    before = {s: upload_loss(base, uploads, windows, k) for k, s in enumerate(base.cfg.styles)}
    nearest = min(before, key=before.get)
    cfg = PriorConfig.from_dict({**base.cfg.to_dict(), "styles": [name]})
    model = build_model(cfg)
    state = copy.deepcopy(base.state_dict())
    state["style.weight"] = state["style.weight"][[base.cfg.styles.index(nearest)]]
    model.load_state_dict(state)
    torch.manual_seed(pc.seed)
    rng = np.random.default_rng(pc.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=pc.lr, weight_decay=0.01)
    model.train()
    step, losses, t0 = 0, [], time.perf_counter()
    style = torch.zeros(pc.batch, dtype=torch.long)
    stop = min(t0 + pc.train_seconds, start + pc.seconds - RESERVE_S)
    while step < pc.max_steps and time.perf_counter() < stop:
        x = batch(model, uploads, windows, pc.batch, rng)
        value = loss(model, x, masks(len(x), x.shape[1]), style)
        opt.zero_grad(set_to_none=True)
        value.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        losses.append(float(value.detach()))
        if progress is not None:
            done = max(step / pc.max_steps, (time.perf_counter() - t0) / max(stop - t0, 1e-3))
            progress(0.15 + 0.75 * min(done, 1.0), f"fitting: step {step}")
    model.eval()
    after = upload_loss(model, uploads, windows, 0)
    return model, {"nearest_style": nearest, "loss_base": before, "loss_after": after,
                   "steps": step, "train_seconds": round(time.perf_counter() - t0, 1),
                   "train_loss_last": float(np.mean(losses[-10:])) if losses else None,
                   "windows": len(windows) // max(1, len(uploads[0].codes)),
                   "seconds_to_train": round(time.perf_counter() - start, 1)}


def fit_personal(files, name: str, registry, config: PersonalConfig | None = None,
                 progress=None, names=None) -> Path:
    """Fit and register a personal prior from ``files`` (paths; ``names`` what the user
    called them, for the card); returns its folder under ``registry.personal``."""
    start = time.perf_counter()
    pc = config or PersonalConfig()
    name = check_name(name, registry)
    files = check_files(files)
    names = list(names) if names else [Path(f).name for f in files]
    tick(progress, 0.02, "loading the base prior and its VAE")
    base = registry.load(pc.base)
    if base.masked:
        return fit_palette_personal(files, name, registry, pc, base, names, progress, start)
    vae = base._need_vae()
    tuned = pc.train_seconds > 0
    shifts = list(range(pc.shift_min, pc.shift_max + 1)) if tuned else [0]
    with torch_threads(pc.threads):
        tick(progress, 0.08, f"encoding {len(files)} files")
        uploads = read_uploads(vae, files, shifts, names)
        model, fit = fit_model(base.model, uploads, pc, name, progress, start)
        anchors = [u.codes[shifts.index(0)] for u in uploads]
        config = {
            "name": name, "family": FAMILY.name, "model": model.cfg.to_dict(),
            "via": base.vae_name, "also_for": ["latent"],
            "representation": dict(base.config.get("representation", {})),
            "personal": {"base": pc.base, "files": names, "anchors": ANCHORS,
                         "strength": pc.strength, "chunk": pc.chunk,
                         "bars": {u.name: u.bars for u in uploads}, **fit},
            "data": {"name": "your files", "files": len(files)},
            "training": {"config": pc.to_dict(), "torch_threads": torch.get_num_threads(),
                         "parameters": count_parameters(model)},
        }
        tick(progress, 0.7, "checking that its pieces do not copy your files")
        prior = PersonalPrior.of(TrainedPrior(model, config, registry.personal, vae), anchors)
        check = copy_check(prior, base, files, pc, start + pc.seconds - 5.0)
        folder = land(registry, name, config, check, model.state_dict(), card, start,
                      progress, anchors)
    registry.forget(name)
    tick(progress, 1.0, "done")
    return folder


def register_of(uploads: list[Upload]) -> dict:
    """Where the uploads sit, in their own keys: the mean and spread (at least a semitone)
    of their mean pitches. Palette bars are read in C; samples are moved there as the
    base's are moved to their style's (``TrainedPrior.sample_pieces``)."""
    means = [u.mean_pitch for u in uploads if u.mean_pitch is not None]
    return {"mean_pitch": round(float(np.mean(means)), 2),
            "std": round(max(float(np.std(means)), 1.0), 2), "pieces": len(means)}


def fit_palette_personal(files, name: str, registry, pc: PersonalConfig, base, names,
                         progress, start: float) -> Path:
    """:func:`fit_personal` over a masked base: a palette of the uploads' bars
    (:mod:`~.palette`), copy-checked, published."""
    from pianoplay.models.latent_prior.palette import KIND, PalettePrior, fit_palette

    vae = base._need_vae()
    with torch_threads(pc.threads):
        tick(progress, 0.08, f"reading {len(files)} files")
        uploads = read_uploads(vae, files, [0], names)
        tick(progress, 0.2, "keeping your bars and finding their codes")
        palette, fit = fit_palette(base, [u.roll for u in uploads])
        config = {
            "name": name, "family": FAMILY.name,
            "model": {**base.model.cfg.to_dict(), "styles": [name]},
            "via": base.vae_name, "over": pc.base, "also_for": ["latent"],
            "representation": dict(base.config.get("representation", {})),
            "personal": {"kind": KIND, "base": pc.base, "files": names,
                         "max_run": pc.max_run, "bias": pc.bias,
                         "continuity": pc.continuity, "density": pc.density,
                         "repeat": pc.repeat,
                         "bars": {u.name: u.bars for u in uploads},
                         **fit},
            "registers": {name: register_of(uploads)},
            "data": {"name": f"your {len(files)} file{'s' * (len(files) > 1)} "
                             f"({sum(u.bars for u in uploads)} bars)", "files": len(files)},
            "plain_for": "Writes new 16-bar pieces from the bars of your own files in new "
                         "orders (Sample), gives the Latent sliders their start points, and "
                         "fills the bars you choose of a file with your bars (Infill).",
            "plain_expect": "Your own bars, textures and harmonies, in the register your "
                            "files sit in and in orders they do not have: never four bars in "
                            "a row as a file has them, and rarely one bar twice.",
            "training": {"config": pc.to_dict(), "torch_threads": torch.get_num_threads()},
        }
        tick(progress, 0.7, "checking that its pieces do not copy your files")
        prior = PalettePrior(base, config, registry.personal / name, palette)
        check = palette_copy_check(prior, base, files, pc, start + pc.seconds - 5.0)
        folder = land(registry, name, config, check, palette.tensors(), palette_card, start,
                      progress)
    registry.forget(name)
    tick(progress, 1.0, "done")
    return folder


def palette_copy_check(prior, base, files, pc: PersonalConfig, deadline: float) -> dict:
    """Sample ``check_samples`` pieces; while a 4-bar window of one reaches onset F1
    ``copy_f1`` against an upload (any key), allow one bar fewer in a row in a file's
    order (down to 0: no neighbours as an upload has them) and sample again. Also: set
    similarity of the samples, and of the base's in its nearest style, to the uploads."""
    vae = prior.vae
    ups = [grid_notes(f, 4) for f in files]
    tries = []
    while True:  # as the app samples, checked against your bars where they are in your files
        began = time.perf_counter()
        rolls, f1s = prior.sample_checked(pc.check_samples, seed=pc.seed)
        notes = [grid_notes(vae.to_midi(r), 4) for r in rolls]
        best = max(f1s)
        tries.append([prior.max_run, round(best, 3)])
        now = time.perf_counter()
        if best < pc.copy_f1 or prior.max_run <= 0 or now + (now - began) > deadline:
            break  # (no round is started that would end past the deadline)
        prior.config["personal"]["max_run"] = prior.max_run - 1
    style = prior.config["personal"]["nearest_style"]
    base_rolls = base.sample_pieces(pc.check_samples, style=style, seed=pc.seed)
    base_notes = [grid_notes(vae.to_midi(r), 4) for r in base_rolls]
    return {"max_run": prior.max_run, "copy_checks": tries, "copy_f1_max": best,
            "checked": pc.check_samples,
            "similarity_personal": set_similarity(notes, ups)["similarity"],
            "similarity_base": set_similarity(base_notes, ups)["similarity"]}


def copy_check(prior: PersonalPrior, base, files, pc: PersonalConfig, deadline: float
               ) -> dict:
    """Sample ``check_samples`` pieces; while a 4-bar window of one reaches onset F1
    ``copy_f1`` against an upload (any key), raise the strength (by 0.15, up to 1) and
    sample again. Also: set similarity of the samples, and of the base's, to the uploads."""
    vae = prior.vae
    ups = [grid_notes(f, 4) for f in files]
    index = CopyIndex([c for n in ups for c in chunks(n)])
    strength, tries = pc.strength, []
    while True:
        prior.config["personal"]["strength"] = strength
        rolls = vae.decode(prior.sample(pc.check_samples, seed=pc.seed))
        notes = [grid_notes(vae.to_midi(r), 4) for r in rolls]
        best = max(index.best(n)["f1"] for n in notes)
        tries.append([round(strength, 2), round(best, 3)])
        if best < pc.copy_f1 or strength >= 1.0 or time.perf_counter() > deadline:
            break
        strength = min(strength + 0.15, 1.0)
    style = prior.config["personal"]["nearest_style"]
    z = base.sample(pc.check_samples, style=style, seed=pc.seed)
    base_notes = [grid_notes(vae.to_midi(r), 4) for r in vae.decode(z)]
    return {"strength": round(strength, 2), "copy_checks": tries, "copy_f1_max": best,
            "checked": pc.check_samples,
            "similarity_personal": set_similarity(notes, ups)["similarity"],
            "similarity_base": set_similarity(base_notes, ups)["similarity"]}


def land(registry, name: str, config: dict, check: dict, state: dict, card_of, start: float,
         progress, anchors=None) -> Path:
    """Record the copy check and the fit time in ``config`` and publish the checkpoint
    (``card_of(config)`` its README)."""
    config["personal"].update(check)
    config["metrics"] = {"uploads": {k: check[k] for k in (
        "copy_f1_max", "similarity_personal", "similarity_base")}}
    tick(progress, 0.92, "writing the checkpoint")
    config["personal"]["seconds"] = round(time.perf_counter() - start, 1)
    return publish(registry.personal, name, config, state, card_of(config), anchors)


def publish(root: Path, name: str, config: dict, state: dict, readme: str, anchors=None
            ) -> Path:
    """Write the checkpoint in a hidden folder, then rename it to ``root/name`` (atomic: a
    name taken meanwhile is refused and nothing is left behind)."""
    partial = Path(root) / PARTIAL
    partial.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=partial))
    try:
        save_checkpoint(tmp, config, state)
        if anchors is not None:
            save_anchors(tmp, anchors)
        (tmp / "README.md").write_text(readme)
        final = Path(root) / name
        try:
            final.mkdir()  # claims the name: a second fit of it fails here
        except FileExistsError:
            raise PianoplayError(f"a checkpoint named {name!r} was made meanwhile; pick "
                                 "another name.") from None
        os.replace(tmp, final)  # onto the empty folder just made
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def delete_personal(name: str, registry) -> Path:
    """Remove the user's own checkpoint ``name`` (a shipped one is refused)."""
    name = (name or "").strip()
    if not registry.is_personal(name):
        if name in registry.names():
            raise PianoplayError(f"{name} is a shipped checkpoint, not one of yours; only "
                                 "personal models can be deleted.")
        mine = [n for n in registry.names() if registry.is_personal(n)]
        raise PianoplayError(f"no personal model named {name!r}; yours: "
                             f"{', '.join(mine) or 'none'}.")
    folder = registry.personal / name
    partial = registry.personal / PARTIAL
    partial.mkdir(parents=True, exist_ok=True)
    gone = Path(tempfile.mkdtemp(prefix=f"deleted-{name}-", dir=partial))
    os.replace(folder, gone / name)  # unlisted at once, then removed
    shutil.rmtree(gone, ignore_errors=True)
    registry.forget(name)
    return folder


def card(config: dict) -> str:
    """The model card: three plain lines, then the files, bars and numbers of the fit."""
    p = config["personal"]
    tuned = (f"{p['steps']} fine-tuning steps in {p['train_seconds']:.1f} s"
             if p["steps"] else "no fine-tuning")
    lines = [
        f"# {config['name']}",
        "",
        f"A personal model: new 16-bar pieces in the style of {len(p['files'])} of your "
        "files (Sample; Infill writes bars in its base style).",
        f"Made from your files in {p['seconds']:.0f} s on the CPU: each piece lays bars of "
        f"your files ({p['chunk']} at a time, from random places) side by side, noised to "
        f"strength {p['strength']:g} and rewritten by {p['base']} in its "
        f"{p['nearest_style']} style (the nearest to your files).",
        "Expect the textures, density and register of your files with new notes; a higher "
        "temperature moves further from them.",
        *_files_and_numbers(config, f"{p['seconds']:.1f} s ({tuned})", "strength"),
    ]
    return "\n".join(lines) + "\n"


def palette_card(config: dict) -> str:
    """The model card of a palette: what it does, then the files, bars and numbers."""
    p = config["personal"]
    kept, of = p["bars_in_palette"], p.get("bars_in_files", p["bars_in_palette"])
    kept = f"{kept} bars" if of <= kept else f"{kept} of your {of} bars, spread over your files"
    lines = [
        f"# {config['name']}",
        "",
        f"A personal model: new 16-bar pieces made of the bars of {len(p['files'])} of "
        "your files (Sample, Latent sliders; Infill fills your gaps with them).",
        f"Made from your files in {p['seconds']:.0f} s on the CPU: each bar of your files "
        f"is kept as your file has it, with its code ({kept} in "
        f"{p['clusters']} kinds), and {p['base']} orders them as it orders "
        f"{p['nearest_style']} (the nearest of its styles to your files), in about the "
        "proportions your files use them, preferring bars that continue the notes held "
        "over the bar line, "
        + ("never more than " if p["max_run"] else "")
        + (f"{p['max_run']} in a row as your files have them" if p["max_run"] else
           "no two side by side as your files have them")
        + (", and a bar is rarely written twice in one piece." if p.get("repeat", 1.0) else "."),
        "Expect your own bars in new orders; a higher temperature picks less likely ones.",
        *_files_and_numbers(config, f"{p['seconds']:.1f} s", "bars in a row"),
    ]
    return "\n".join(lines) + "\n"


def _files_and_numbers(config: dict, fit_time: str, tried: str) -> list[str]:
    """The end of a personal model's card: its files and bars, where its pieces sit, the
    fit time, the set similarities and the copy check (``tried``: what each try changed)."""
    p = config["personal"]
    reg = (config.get("registers") or {}).get(config["name"])
    return [
        "",
        "| file | bars used |",
        "|---|---|",
        *(f"| {f} | {p['bars'][f]} |" for f in p["files"]),
        "",
        f"- bars used: {sum(p['bars'].values())} (16 sixteenths each, read in C)",
        *([f"- register: pieces are moved whole to a mean pitch around "
           f"{reg['mean_pitch']:.1f} +- {reg['std']:.1f}, where your files sit"]
          if reg else []),
        f"- fit time: {fit_time}",
        f"- set similarity to your files ({p.get('checked', 8)} pieces): "
        f"{p['similarity_personal']:.3f} this "
        f"model, {p['similarity_base']:.3f} {p['base']} ({p['nearest_style']})",
        f"- copy check: the closest 4-bar window of {p.get('checked', 8)} pieces to your "
        f"files has onset F1 {p['copy_f1_max']:.2f} (1 = a copy; tries, {tried} -> F1: "
        f"{p['copy_checks']})",
        f"- via: {config['via']}",
    ]


def tick(progress, fraction: float, what: str) -> None:
    if progress is not None:
        progress(fraction, what)
