"""What the app's buttons do: plain functions over a :class:`~pianoplay.models.registry.Registry`.

Every action checks its arguments (raising :class:`PianoplayError` with a
message that names the control), runs the model, and writes its results into
a fresh output folder. Rolls are rendered at the user's tempo and General MIDI
program.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pianoplay.errors import PianoplayError
from pianoplay.limits import PRIMER_BARS, STEPS_RANGE
from pianoplay.music.roll import shift_keys
from pianoplay.ui.outputs import Outputs, Piece, cut_wav, render_piece

Progress = Callable[[float, str], None]
MAX_SAMPLES = 4
MAX_LM_BARS = 64
MAX_CACHED_STARTS = 64  # start points of the Latent tab kept encoded
PREVIEW_BARS = 4  # the Model tab's sample to listen to
TEMPO_RANGE = (40.0, 240.0)
N_AXES = 6  # principal-axis sliders shown
# slider name (also the API keyword) -> LatentAxes attribute
ATTRIBUTE_SLIDERS = {
    "density": "note_density",
    "register": "mean_pitch",
    "polyphony": "polyphony",
    "rhythm": "rhythmic_activity",
}
AXIS_SLIDERS = tuple(f"axis_{k + 1}" for k in range(N_AXES))


def check_range(label: str, value, lo: float, hi: float, integer: bool = False):
    """``value`` as a number inside [lo, hi], or a PianoplayError naming ``label``."""
    if value is None:
        raise PianoplayError(f"{label} is missing.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PianoplayError(f"{label} must be a number, not {value!r}.") from None
    if not lo <= number <= hi:
        raise PianoplayError(f"{label} must be between {lo:g} and {hi:g}, not {number:g}.")
    if integer:
        if number != int(number):
            raise PianoplayError(f"{label} must be a whole number, not {number:g}.")
        return int(number)
    return number


SEED_MAX = 2**31 - 1


@dataclass
class Primer:
    """The first bars of an uploaded MIDI file, as a language model continues them."""

    roll: np.ndarray  # (P, 88) in C (the model's key), P steps
    transpose: int  # semitones that moved it to C
    tempo: float  # its bpm (clamped to TEMPO_RANGE)
    key: str  # its key's name, e.g. "D major"


def _seed(seed) -> int:
    """The seed to use: ``seed`` itself, or a fresh random one when it is negative or
    missing (returned, so the page can show it and the piece can be made again)."""
    if seed is None or seed == "":
        return random.randint(0, SEED_MAX)
    if check_range("Seed", seed, float("-inf"), SEED_MAX) < 0:
        return random.randint(0, SEED_MAX)
    return check_range("Seed", seed, 0, SEED_MAX, integer=True)


def _render_args(tempo, program) -> tuple[float, int]:
    return (
        check_range("Tempo (bpm)", tempo, *TEMPO_RANGE),
        check_range("Instrument (General MIDI program)", program, 0, 127, integer=True),
    )


@dataclass
class Interpolation:
    """The decoded path between two pieces."""

    steps: list[Piece]  # one MIDI per step, A first and B last
    path: Piece  # the whole path as one MIDI and one WAV
    grid: Path  # piano rolls of every step
    step_seconds: list[float]  # length of each step in the path audio
    summary: str  # which bars were taken from each piece, and the keys (Markdown)
    comparison: Path | None = None  # A and B beside their reconstructions (steps 1 and N)

    def step_wav(self, index: int) -> Path:
        """A WAV of step ``index`` (0-based), cut from the path audio, with its tail."""
        index = check_range("Step", index, 0, len(self.steps) - 1, integer=True)
        dest = self.path.midi.parent / f"step_{index + 1:02d}.wav"
        if not dest.exists():
            start = sum(self.step_seconds[:index])
            cut_wav(self.path.wav, start, self.step_seconds[index] + 1.0, dest)
        return dest


class Actions:
    """The app's actions over the checkpoints of ``registry``."""

    def __init__(self, registry, outputs: Outputs | None = None) -> None:
        self.registry = registry
        self.outputs = outputs or Outputs()
        self._maps: dict[str, object] = {}
        self._maps_lock = threading.Lock()
        # (checkpoint, seed) -> Encoded: encoding a tune (with refinement) takes ~200 ms,
        # and every slider release of one start point needs the same one
        self._starts: dict[tuple[str, int], object] = {}

    # models ---------------------------------------------------------------
    def names(self, tab: str) -> list[str]:
        """The checkpoints offered in ``tab`` (their families serve it and their configs do
        not refuse it), first choices (``app_roles``) first."""
        return [i.name for i in self.registry.serving(tab)]

    def refuse(self, name: str, tab: str) -> None:
        """The one-sentence PianoplayError (the CLI's too) when ``name`` is not offered in
        ``tab``."""
        self._info(name)
        self.registry.refuse(name, tab)

    def decode_temperature(self, name: str) -> float:
        """The temperature a VAE decodes a code at by default (Latent sliders, Interpolate):
        its config's ``decode_temperature`` when set (vae-faithful: 0, its most likely notes,
        as it reproduces its input), else its family's."""
        return self.registry.info(name).decode_temperature if name else 0.0

    def model_card(self, name: str) -> str:
        """Markdown: what the model is for, its data and its headline numbers with units,
        then its README (see :mod:`pianoplay.ui.model_card`)."""
        from pianoplay.ui.model_card import card_markdown

        if not name:
            return "No checkpoint selected."
        return card_markdown(self._info(name))

    def preview(self, name: str, tempo=120.0, program=0) -> Piece:
        """Something of any checkpoint to listen to on the Model tab: a short sample
        (``PREVIEW_BARS`` bars), or, from a VAE not offered for sampling, a bundled tune as
        it gives it back (the Latent tab's start point of a random seed)."""
        if "sample" not in self._info(name).tabs:
            return self.decode_latent(name, _seed(-1), {}, tempo, program)[0]
        bars = min(PREVIEW_BARS, self.max_bars(name))
        return self.sample(name, 1, bars, 1.0, -1, tempo, program)[0]

    def _info(self, name: str):
        """The registry's info of a checkpoint offered here; names only, so a request
        cannot point the app at some other folder on the server."""
        known = self.registry.names()
        if name not in known:
            raise PianoplayError(
                f"unknown checkpoint {str(name)!r}; available: {', '.join(known) or 'none'}."
            )
        return self.registry.info(name)

    def max_bars(self, name: str) -> int:
        """Longest sample a checkpoint writes: a VAE's window, else ``MAX_LM_BARS``."""
        info = self._info(name)
        if info.spec.strategies:  # a language model writes as long as asked
            return MAX_LM_BARS
        steps_per_bar = int(info.representation.get("steps_per_bar", 8))
        return int(info.config["model"].get("max_steps", 16 * steps_per_bar)) // steps_per_bar

    def _load(self, name: str, tab: str, what: str):
        """The model of a checkpoint offered in ``tab``, loaded (``what`` names the action)."""
        if not name:
            raise PianoplayError(f"Pick a checkpoint for {what}.")
        self.refuse(name, tab)
        return self.registry.load(name)

    # sample -----------------------------------------------------------------
    def sample(
        self,
        name: str,
        n,
        bars,
        temperature,
        seed,
        tempo,
        program,
        progress: Progress | None = None,
    ) -> list[Piece]:
        """``n`` new pieces of ``bars`` bars from any checkpoint (VAE prior or LM sampling)."""
        n = check_range("Count", n, 1, MAX_SAMPLES, integer=True)
        temperature = check_range("Temperature", temperature, 0.05, 3.0)
        tempo, program = _render_args(tempo, program)
        model = self._load(name, "sample", "Sampling")
        is_vae = not self._info(name).spec.strategies  # a language model samples by strategy
        max_bars = model.n_steps // model.steps_per_bar if is_vae else MAX_LM_BARS
        bars = check_range("Bars", bars, 1, max_bars, integer=True)
        seed = _seed(seed)
        steps = bars * model.steps_per_bar
        _tick(progress, 0.1, "sampling")
        if is_vae:  # decode z from the prior
            rolls = model.sample(n, temperature=temperature, seed=seed, steps=steps)
        else:
            rolls = model.generate(
                n=n, steps=steps, strategy="sample", temperature=temperature, seed=seed
            )
        folder = self.outputs.new("sample")
        pieces = []
        for i, roll in enumerate(rolls):
            _tick(progress, 0.3 + 0.7 * i / n, f"rendering sample {i + 1} of {n}")
            pieces.append(
                render_piece(
                    model,
                    roll,
                    folder,
                    f"sample_{i + 1}_seed{seed}",
                    tempo,
                    program,
                    title=f"sample {i + 1}, seed {seed}",
                    seed=seed,
                )
            )
        return pieces

    # latent sliders -----------------------------------------------------------
    def latent_labels(self, name: str) -> dict[str, str]:
        """Slider name -> label with the share of variance of each principal axis."""
        axes = self._load(name, "latent", "The latent sliders").latent_axes()
        labels = {}
        for k, slider in enumerate(AXIS_SLIDERS):
            if k < len(axes.directions):
                labels[slider] = (
                    f"axis {k + 1} ({100 * axes.explained_variance[k]:.0f}% of variance)"
                )
            else:
                labels[slider] = f"axis {k + 1} (not in this model)"
        return labels

    def latent_z(self, name: str, seed, amounts: dict[str, float], start=None) -> np.ndarray:
        """The z of the sliders: the encoding of ``start`` (an Encoded) when given, else the
        prior sample of ``seed`` (as ``sample`` draws it, so seed S here is sample S of the
        Sample tab), moved by each slider's amount."""

        vae = self._load(name, "latent", "The latent sliders")
        axes = vae.latent_axes()
        seed = check_range("Start seed", seed, 0, 2**31 - 1, integer=True)
        if start is None and "sample" not in self._info(name).tabs:
            start = self.example_start(name, seed)  # its prior's points are not music
        if start is not None:
            z = np.asarray(start.z, dtype=np.float64)
        else:
            z = vae.prior_z(1, seed=seed)[0]  # (D,) or, one code per segment, (S, D)
        moves = {}
        for slider in AXIS_SLIDERS:
            value = check_range(slider.replace("_", " "), amounts.get(slider, 0.0), -4, 4)
            k = int(slider.split("_")[1])
            if value and k <= len(axes.directions):
                moves[f"pc{k}"] = value
        for slider, attribute in ATTRIBUTE_SLIDERS.items():
            value = check_range(slider, amounts.get(slider, 0.0), -3, 3)
            if value and attribute in axes.attributes:
                moves[attribute] = value
        return vae.apply(z, moves) if moves else z.astype(np.float64)

    def example_start(self, name: str, seed: int):
        """The start point of ``seed`` for a VAE whose random points are not music: one of
        the bundled tunes (``seed`` modulo their number), from a bar that the seed picks.
        Cached (the last ``MAX_CACHED_STARTS``): it does not change while sliders move."""
        return self._cached_start((name, int(seed)), lambda: self._example_start(name, seed))

    def file_start(self, name: str, midi):
        """The encoding of an uploaded file (path or bytes), cached like a bundled tune's:
        every slider release of the same upload reuses it."""
        import hashlib

        data = midi if isinstance(midi, bytes) else Path(midi).read_bytes()
        key = (name, hashlib.sha256(data).hexdigest())
        return self._cached_start(key, lambda: self.registry.load(name).encode(midi))

    def _cached_start(self, key, make):
        with self._maps_lock:
            hit = self._starts.get(key)
        if hit is None:
            hit = make()
            with self._maps_lock:
                if len(self._starts) >= MAX_CACHED_STARTS:
                    self._starts.pop(next(iter(self._starts)), None)  # the oldest
                self._starts[key] = hit
        return hit

    def _example_start(self, name: str, seed: int):
        from pianoplay.paths import ASSETS_DIR

        vae = self.registry.load(name)
        tunes = sorted(ASSETS_DIR.glob("*.mid"))
        if not tunes:
            raise PianoplayError(f"{name} starts from a bundled tune, and none is installed.")
        loaded = vae.load(str(tunes[seed % len(tunes)]))
        starts = max(1, len(loaded.bar_starts) - 15)  # bars where a whole 16-bar window fits
        return vae.encode(loaded, bar=(seed // len(tunes)) % starts)

    def decode_latent(
        self,
        name: str,
        seed,
        amounts: dict[str, float],
        tempo,
        program,
        temperature=None,
        midi=None,
    ) -> tuple[Piece, Path]:
        """Decode the sliders' z; returns the piece and the latent map PNG.

        The start point is the encoding of ``midi`` (path or bytes) when given, else the
        prior sample of ``seed``. ``temperature`` None is the checkpoint's own default; 0
        takes the most likely notes; above 0 samples with noise fixed by ``seed``, so the
        same sliders always give the same piece. A piece started from a file comes back
        in that file's key."""
        tempo, program = _render_args(tempo, program)
        vae = self._load(name, "latent", "The latent sliders")
        temperature = self._vae_temperature(name, temperature)
        start = self.file_start(name, midi) if midi is not None else None
        z = self.latent_z(name, seed, amounts, start)
        roll = vae.decode(
            z[None], temperature=temperature or None, seed=int(seed), greedy=temperature == 0
        )[0]
        if start is not None:
            roll = roll[: len(start.roll)]
        folder = self.outputs.new("latent")
        shift = -start.transpose if start is not None else 0
        piece = render_piece(vae, shift_keys(roll, shift), folder, "latent", tempo, program)
        map_z = z.mean(0) if z.ndim == 2 else z  # a segment model's map shows the mean segment
        return piece, self.latent_map(name).png(map_z, folder / "map.png")

    def _vae_temperature(self, name: str, temperature) -> float:
        if temperature is None or temperature == "":
            return self.decode_temperature(name)
        temperature = check_range("Temperature", temperature, 0.0, 2.0)
        if temperature == 0 and self.decode_temperature(name) > 0:
            faithful = [
                n for n in self.names("interpolate") if self.decode_temperature(n) == 0
            ]
            hint = (
                f", or the model {faithful[0]}, which gives back your notes at 0"
                if faithful
                else ""
            )
            raise PianoplayError(
                f"{name} holds one chord when decoded at temperature 0 (its most likely "
                f"frame repeats); pick a temperature of 0.1 or more{hint}."
            )
        return temperature

    def latent_map(self, name: str):
        from pianoplay.ui.latent_map import LatentMap

        with self._maps_lock:
            if name not in self._maps:
                vae = self._load(name, "latent", "The latent map")
                self._maps[name] = LatentMap(vae.latent_axes())
            return self._maps[name]

    # interpolate ---------------------------------------------------------------
    def interpolate(
        self,
        name: str,
        a,
        b,
        steps,
        tempo,
        program,
        temperature=None,
        progress: Progress | None = None,
        mode: str | None = None,
    ) -> Interpolation:
        """A path between the encodings of two MIDI files (paths or bytes), ``steps`` points,
        decoded at ``temperature`` (None: the checkpoint's default; 0: most likely notes).
        ``mode``, the path: "bars" (each bar's code switches from A's to B's at a step of its
        own; the faithful VAE's default) or "slerp" (every code moves together); None: the
        model's first of ``interpolation_modes``.

        Step 1 is the model's reconstruction of A and the last step that of B; each step
        is written in a key moving from A's (step 1) to B's (last step)."""
        steps = check_range("Steps", steps, STEPS_RANGE[0], STEPS_RANGE[1], integer=True)
        tempo, program = _render_args(tempo, program)
        if a is None or b is None:
            raise PianoplayError("Upload two MIDI files (or pick two examples) to interpolate.")
        vae = self._load(name, "interpolate", "Interpolation")
        temperature = self._vae_temperature(name, temperature)
        mode = mode or vae.interpolation_modes[0]
        _tick(progress, 0.05, "encoding the two pieces")
        enc = vae.encode_many([a, b])
        _tick(progress, 0.2, "decoding the path")
        rolls = vae.interpolate(
            enc[0], enc[1], steps, temperature=temperature or None, seed=0,
            greedy=temperature == 0, mode=mode,
        )
        # Keys: from A's (undoing its move to C) to B's, in even semitone steps.
        shifts = np.rint(np.linspace(-enc[0].transpose, -enc[1].transpose, steps)).astype(int)
        keyed = [shift_keys(r, int(k)) for r, k in zip(rolls, shifts)]
        folder = self.outputs.new("interpolate")
        _tick(progress, 0.4, "rendering audio")
        path = render_piece(vae, np.concatenate(keyed), folder, "path", tempo, program, png=False)
        pieces = [
            render_piece(vae, r, folder, f"step_{i + 1:02d}", tempo, program, wav=False, png=False)
            for i, r in enumerate(keyed)
        ]
        _tick(progress, 0.9, "drawing piano rolls")
        from pianoplay.audio.plot import roll_grid_png

        titles = [
            f"step {i + 1}"
            + (
                " = A, as the model gives it back"
                if i == 0
                else " = B, as the model gives it back"
                if i == steps - 1
                else ""
            )
            for i in range(steps)
        ]
        spb = vae.steps_per_bar
        grid = roll_grid_png(keyed, folder / "rolls.png", titles=titles, steps_per_bar=spb)
        shown = [
            shift_keys(enc[0].roll, -enc[0].transpose),
            keyed[0],
            shift_keys(enc[1].roll, -enc[1].transpose),
            keyed[-1],
        ]
        shown = [r[: len(e.roll)] for r, e in zip(shown, (enc[0], enc[0], enc[1], enc[1]))]
        comparison = roll_grid_png(
            shown,
            folder / "compare.png",
            steps_per_bar=spb,
            titles=[
                "A: your file (the bars used)",
                "A: reconstruction (step 1)",
                "B: your file (the bars used)",
                "B: reconstruction (last step)",
            ],
        )
        step_seconds = [len(r) * 60.0 / (tempo * vae.steps_per_quarter) for r in rolls]
        summary = _bars_summary(enc, [a, b]) + "\n" + _keys_summary(enc, shifts)
        summary += "\n" + PATH_NOTES[mode]
        return Interpolation(pieces, path, grid, step_seconds, summary, comparison)

    # generate (language models) -----------------------------------------------
    def generate(
        self,
        name: str,
        strategy: str = "top-p",
        temperature=1.0,
        beam_width=8,
        top_k=20,
        top_p=0.9,
        bars=16,
        seed=-1,
        primer=None,
        tempo=120.0,
        program=0,
        progress: Progress | None = None,
    ) -> Piece:
        """One piece from a chord-/roll-LSTM with the chosen decoding strategy, optionally
        continuing the first PRIMER_BARS bars of a primer MIDI file. A continuation is written
        in the primer's key and at its tempo (``tempo`` then unused), the primer's end marked
        on the roll."""
        temperature = check_range("Temperature", temperature, 0.05, 3.0)
        beam_width = check_range("Beam width", beam_width, 1, 32, integer=True)
        top_k = check_range("Top-k", top_k, 0, 10_000, integer=True)
        top_p = check_range("Top-p", top_p, 0.01, 1.0)
        bars = check_range("Bars", bars, 1, MAX_LM_BARS, integer=True)
        tempo, program = _render_args(tempo, program)
        seed = _seed(seed)
        lm = self._load(name, "generate", "Generation")
        self.registry.refuse_strategy(name, strategy)
        given = self._primer(lm, primer) if primer else None
        _tick(progress, 0.1, f"decoding ({strategy})")
        roll = lm.generate(
            n=1,
            steps=bars * lm.steps_per_bar,
            strategy=strategy,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            beam_width=beam_width,
            primer=None if given is None else given.roll,
            seed=seed,
        )[0]
        _tick(progress, 0.6, "rendering audio")
        title, marks = f"{name}, {strategy}, seed {seed}", None
        if given is not None:
            roll = shift_keys(roll, -given.transpose)  # back in the primer's key
            tempo = given.tempo
            marks = {len(given.roll): "primer ends"}
            title += f", continuing the primer in {given.key}, {tempo:g} bpm"
        return render_piece(
            lm,
            roll,
            self.outputs.new("generate"),
            f"generated_seed{seed}",
            tempo,
            program,
            title=title,
            seed=seed,
            marks=marks,
        )

    def default_temperature(self, name: str) -> float:
        """The temperature a model samples or generates at by default (Sample and Generate
        tabs): its config's ``decode_temperature`` (chord-lstm-classical: 0.9), else 1."""
        return self.registry.info(name).temperature if name else 1.0

    @staticmethod
    def _primer(lm, source) -> Primer:
        from pianoplay.music.roll import load_roll

        rep = lm.config.get("representation", {})
        loaded = load_roll(
            source,
            steps_per_quarter=lm.steps_per_quarter,
            normalize_key=rep.get("normalize_key", True),
        )
        starts = loaded.bar_starts
        end = starts[PRIMER_BARS] if len(starts) > PRIMER_BARS else len(loaded.roll)
        roll = loaded.roll[:end]
        if not roll.any():
            raise PianoplayError("The primer MIDI has no notes in its first bars.")
        tempo = min(max(float(loaded.tempo or 120.0), TEMPO_RANGE[0]), TEMPO_RANGE[1])
        return Primer(roll, int(loaded.transpose), round(tempo, 1), loaded.key.name)

    # start-up -----------------------------------------------------------------
    def warm_up(self) -> None:
        """Load every checkpoint and run each action once, small, so that the first
        user request does not pay for imports, model loading or the soundfont."""
        for info in self.registry.list():
            try:
                if "latent" in info.tabs:
                    self.decode_latent(info.name, 1, {}, 120, 0)
                elif "sample" in info.tabs:
                    self.sample(info.name, 1, 1, 1.0, 1, 120, 0)
            except PianoplayError:
                continue  # a broken checkpoint shows its error when it is used


PATH_NOTES = {
    "bars": "- **Path**: bar by bar: each bar's code switches from A's to B's at a step of its "
    "own, so the steps between play bars of A, then bars of B.",
    "slerp": "- **Path**: slerp: every bar's code moves together through the latent space, so "
    "the steps between blend A and B.",
}


def _tick(progress: Progress | None, fraction: float, what: str) -> None:
    if progress is not None:
        progress(fraction, what)


def _keys_summary(encoded, shifts) -> str:
    from pianoplay.music.keys import NAMES

    def key_name(enc) -> str:
        return (
            str(enc.key)
            if getattr(enc, "key", None) is not None
            else (f"{NAMES[(-enc.transpose) % 12]} (tonic)")
        )

    a, b = encoded
    return (
        f"- **Keys**: step 1 in {key_name(a)} (A's key), the last step in {key_name(b)} "
        f"(B's key); the steps between move by {abs(int(shifts[-1] - shifts[0]))} "
        f"semitones in all."
    )


def _bars_summary(encoded, sources) -> str:
    lines = []
    for label, enc, src in zip("AB", encoded, sources):
        # the user's file name, as code: no Markdown or HTML of theirs reaches the page
        file = Path(src).name if isinstance(src, (str, Path)) else "upload"
        file = "`" + file.replace("`", "'") + "`"
        shift = f", transposed {enc.transpose:+d} semitones to C" if enc.transpose else ""
        lines.append(
            f"- **{label}** ({file}): bars {enc.start_bar + 1}-{enc.start_bar + enc.n_bars} "
            f"of {enc.total_bars}{shift}"
        )
    return "\n".join(lines)
