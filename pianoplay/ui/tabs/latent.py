"""The Latent sliders tab: a start point (a seed's point, or your MIDI file encoded) moved
along the principal axes of the training encodings and along attribute directions, decoded
on every slider release, with its place on the latent map."""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path

import gradio as gr
import numpy as np

from pianoplay.errors import PianoplayError
from pianoplay.models.latent.paths import Encoded
from pianoplay.music.midi import collect_repairs
from pianoplay.music.roll import shift_keys
from pianoplay.paths import ASSETS_DIR
from pianoplay.ui.core import SEED_MAX, ActionsCore, check_range, render_args
from pianoplay.ui.inputs import keep_on_refusal, open_dropdown, open_slider, refusing
from pianoplay.ui.latent_map import LatentMap
from pianoplay.ui.notes import Notes
from pianoplay.ui.outputs import Piece, render_piece
from pianoplay.ui.page import (
    INTERACTIVE,
    MIDI_TYPES,
    TEMPERATURE_INFO,
    Page,
    first,
    or_skip,
    user_errors,
)

TAB = "latent"
TITLE = "Latent sliders"
MAX_CACHED_STARTS = 64  # start points kept encoded
N_AXES = 6  # principal-axis sliders shown
AXIS_SLIDERS = tuple(f"axis_{k + 1}" for k in range(N_AXES))
# slider name (also the API keyword) -> (LatentAxes attribute, what it measures)
ATTRIBUTE_SLIDERS = {
    "density": ("note_density", "notes per frame"),
    "register": ("mean_pitch", "your notes moved along their scale (a step per half unit)"),
    "polyphony": ("polyphony", "keys sounding together"),
    "rhythm": ("rhythmic_activity", "how often notes start"),
}


class Actions(ActionsCore):
    def __init__(self, registry, outputs=None) -> None:
        super().__init__(registry, outputs)
        self._maps: dict[str, LatentMap] = {}
        self._maps_lock = threading.Lock()
        # (checkpoint, seed) -> Encoded: encoding a tune (with refinement) takes ~200 ms,
        # and every slider release of one start point needs the same one
        self._starts: dict[tuple[str, object], object] = {}
        self._repairs: dict[tuple[str, object], list[str]] = {}  # what reading a file repaired

    def latent_labels(self, name: str) -> dict[str, str]:
        """Slider name -> label with the share of variance of each principal axis."""
        axes = self._vae(name).latent_axes()
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

        vae = self._vae(name)
        axes = vae.latent_axes()
        seed = check_range("Start seed", seed, 0, 2**31 - 1, integer=True)
        if start is None and (self._start_prior(name) is not None
                              or "sample" not in self._info(name).tabs):
            start = self.example_start(name, seed)  # a latent prior's piece, or a tune
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
        for slider, (attribute, _) in ATTRIBUTE_SLIDERS.items():
            value = check_range(slider, amounts.get(slider, 0.0), -3, 3)
            if value and attribute in axes.attributes:
                moves[attribute] = value
        return vae.apply(z, moves) if moves else z.astype(np.float64)

    def _vae(self, name: str, what: str = "The latent sliders"):
        """The VAE whose codes the sliders move: the checkpoint itself, or the VAE a
        personal prior writes through."""
        from pianoplay.models.latent_prior.trained import TrainedPrior

        model = self._load(name, "latent", what)
        return model.vae if isinstance(model, TrainedPrior) else model

    def _start_prior(self, name: str):
        """The latent prior random start points are drawn from: the checkpoint itself (a
        personal prior), the prior its VAE samples through (vae-faithful), or None."""
        from pianoplay.models.latent_prior.trained import TrainedPrior

        model = self.registry.load(name)
        if isinstance(model, TrainedPrior):
            return model
        sampler = self.registry.sampler(name)
        return self.registry.load(sampler) if sampler != name else None

    def example_start(self, name: str, seed: int):
        """The start point of ``seed``: a piece drawn from the latent prior (vae-faithful's,
        in its first style, or a personal prior's), else, for a VAE whose random points
        are not music, one of the bundled tunes (``seed`` modulo their number) from a bar
        that the seed picks.
        Cached (the last ``MAX_CACHED_STARTS``): it does not change while sliders move."""
        return self._cached_start((name, int(seed)), lambda: self._example_start(name, seed))

    def file_start(self, name: str, midi, notes: Notes | None = None):
        """The encoding of an uploaded file (path or bytes), cached like a bundled tune's:
        every slider release of the same upload reuses it. What reading it repaired goes
        into ``notes`` each time."""
        data = midi if isinstance(midi, bytes) else Path(midi).read_bytes()
        key = (name, hashlib.sha256(data).hexdigest())

        def encode():
            with collect_repairs() as repairs:
                start = self._vae(name).encode(midi)
            self._repairs[key] = repairs
            return start

        start = self._cached_start(key, encode)
        if notes is not None:
            notes.extend(self._repairs.get(key, []))
        return start

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
        vae = self._vae(name)
        prior = self._start_prior(name)
        if prior is not None:  # a piece of the latent prior
            z = prior.sample(1, style=prior.styles[0], seed=int(seed))[0]
            bars = prior.segments * vae.segment_steps // vae.steps_per_bar
            return Encoded(z=z, roll=vae.decode(z)[0], start_bar=0, n_bars=bars,
                           total_bars=bars)
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
        notes: Notes | None = None,
        performed: bool = True,
    ) -> tuple[Piece, Path]:
        """Decode the sliders' z; returns the piece and the latent map PNG.

        The start point is the encoding of ``midi`` (path or bytes) when given, else the
        prior sample of ``seed``. ``temperature`` None is the checkpoint's own default; 0
        takes the most likely notes; above 0 samples with noise fixed by ``seed``, so the
        same sliders always give the same piece. A piece started from a file comes back
        in that file's key. ``notes`` collects what was changed (a clamped tempo, the
        file's repairs)."""
        tempo, program = render_args(tempo, program, notes)
        vae = self._vae(name)
        temperature = self.vae_temperature(name, temperature)
        start = self.file_start(name, midi, notes) if midi is not None else None
        z = self.latent_z(name, seed, amounts, start)
        roll = vae.decode(
            z[None], temperature=temperature or None, seed=int(seed), greedy=temperature == 0
        )[0]
        if start is not None:
            roll = roll[: len(start.roll)]
        folder = self.outputs.new("latent")
        shift = -start.transpose if start is not None else 0
        bars = keep = None
        if start is not None:  # your file's bars: a jig's roll counts 6/8 bars
            num, den = start.time_signature
            bars = list(range(0, len(roll), max(1, round(num * 4 * vae.steps_per_quarter / den))))
            if performed and midi is not None:  # your notes keep your file's expression
                from pianoplay.models.performer import source_midi

                keep = dict(source=source_midi(midi),
                            end_quarters=len(roll) / vae.steps_per_quarter,
                            shift_quarters=start.start_bar * num * 4 / den)
        piece = render_piece(
            vae, shift_keys(roll, shift), folder, "latent", tempo, program, performed=performed,
            bar_starts=bars, keep=keep,
        )
        map_z = z.mean(0) if z.ndim == 2 else z  # a segment model's map shows the mean segment
        return piece, self.latent_map(name).png(map_z, folder / "map.png")

    def latent_map(self, name: str):
        with self._maps_lock:
            if name not in self._maps:
                vae = self._vae(name, "The latent map")
                self._maps[name] = LatentMap(vae.latent_axes())
            return self._maps[name]



def build(page: Page) -> gr.Dropdown:
    actions, render = page.actions, page.render
    names = actions.names("latent")
    gr.Markdown(
        "Start from a random point (the seed) or from **your own MIDI file** (its best 16 "
        "bars are encoded), move it along the main axes of the training encodings and along "
        "attribute vectors; releasing a slider re-decodes."
    )
    with gr.Row():
        checkpoint = open_dropdown(
            names, value=first(names), label="Checkpoint (a VAE, or your own model)",
            min_width=300, scale=2, elem_id="latent-checkpoint",
        )
        seed = gr.Number(  # no minimum: the action refuses a negative seed in its words
            1,
            precision=0,
            label="Start point (seed)",
            info="a random one when the page opens; Randomize draws another",
            elem_id="latent-seed",
        )
        temperature = open_slider(
            0,
            1.5,
            value=actions.decode_temperature(first(names)),
            step=0.05,
            label="Temperature",
            info=TEMPERATURE_INFO,
            scale=2,
            elem_id="latent-temperature",
        )
    with gr.Row(equal_height=True):
        start_midi = gr.File(
            label="... or start from a MIDI file",
            file_types=MIDI_TYPES,
            type="filepath",
            elem_id="latent-midi",
            scale=2,
            height=120,
        )
        with gr.Column(min_width=200):
            randomize = gr.Button("Randomize", elem_id="latent-randomize")
            reset = gr.Button("Reset sliders", elem_id="latent-reset")
            decode = gr.Button("Decode", variant="primary")
    with gr.Row():
        with gr.Column():
            axes = {
                name: open_slider(
                    -3,
                    3,
                    value=0,
                    step=0.1,
                    label=f"axis {k + 1}",
                    info="principal direction of the training encodings, in std",
                    elem_id=f"latent-{name}",
                )
                for k, name in enumerate(AXIS_SLIDERS)
            }
        with gr.Column():
            attributes = {
                name: open_slider(-2, 2, value=0, step=0.1, label=name, info=info)
                for name, (_, info) in ATTRIBUTE_SLIDERS.items()
            }
            latent_map = gr.Image(
                label="Latent map: training windows by note density; red: current point",
                type="filepath",
                interactive=False,
                height=300,
            )
    with gr.Row():
        audio = gr.Audio(
            label="Decoded", type="filepath", interactive=False, elem_id="latent-audio"
        )
        midi = gr.File(label="MIDI", interactive=False)
    note = gr.Markdown(elem_id="latent-notes")
    roll = gr.Image(
        label="Piano roll",
        show_label=False,
        type="filepath",
        interactive=False,
        elem_id="latent-roll",
        elem_classes=["pp-roll"],
    )
    sliders = {**axes, **attributes}

    def decode_latent(
        checkpoint, seed=1, temperature=0.0, tempo=120.0, program=0, midi=None, performed=True,
        **amounts,
    ):
        """Decode the start point (the prior sample `seed`, or the encoding of `midi` when
        given) moved by the slider amounts. Temperature 0: the most likely notes.
        Returns WAV, roll PNG, map PNG and MIDI paths."""
        piece, map_png = actions.decode_latent(
            checkpoint, seed, amounts, tempo, program, temperature, midi, performed=performed
        )
        return str(piece.wav), str(piece.png), str(map_png), str(piece.midi)

    @keep_on_refusal(5, message_at=4)
    def decode_on_page(
        checkpoint, seed=1, temperature=0.0, tempo=120.0, program=0, midi=None, performed=True,
        **amounts,
    ):
        notes = Notes()
        piece, map_png = actions.decode_latent(
            checkpoint, seed, amounts, tempo, program, temperature, midi, notes=notes,
            performed=performed,
        )
        return str(piece.wav), str(piece.png), str(map_png), str(piece.midi), notes.markdown()

    def relabel(checkpoint):
        with user_errors():
            labels = actions.latent_labels(checkpoint) if checkpoint else {}
        return [gr.Slider(label=labels.get(name, name)) for name in AXIS_SLIDERS]

    inputs = dict(inputs=[checkpoint, seed, temperature, *render, start_midi,
                          page.shared["performed"]],
                  inputs_kwargs=sliders)
    # the API: its four outputs, a refusal as the call's error; the page: a note of what
    # was changed, and a refusal shown there while the last piece stays
    gr.Button(visible=False).click(
        refusing(decode_latent), **inputs, outputs=[audio, roll, latent_map, midi],
        api_name="decode_latent", **INTERACTIVE,
    )
    run = dict(fn=decode_on_page, **inputs, outputs=[audio, roll, latent_map, midi, note],
               **INTERACTIVE)
    decode.click(**run, api_visibility="private")
    zero = dict(fn=lambda: [0.0] * len(sliders), inputs=None, outputs=list(sliders.values()),
                queue=False, api_visibility="private")
    # a new file is heard as it is first: every slider back to 0
    start_midi.change(**zero).then(**run, api_visibility="private")
    for slider in [*sliders.values(), temperature]:
        slider.release(**run, api_visibility="private")
    randomize.click(
        lambda: random.randint(0, 2**31 - 1), None, seed, queue=False, api_visibility="private"
    ).then(**run, api_visibility="private")
    reset.click(  # every slider, the temperature too (to the model's own)
        lambda name: [0.0] * len(sliders) + [actions.decode_temperature(name)],
        checkpoint,
        [*sliders.values(), temperature],
        queue=False,
        api_visibility="private",
    ).then(**run, api_visibility="private")
    checkpoint.change(relabel, checkpoint, list(axes.values()), api_visibility="private")
    checkpoint.change(
        or_skip(actions.decode_temperature), checkpoint, temperature, queue=False,
        api_visibility="private",
    )
    # the tab shows its start when the page opens: a random point, decoded
    start = dict(fn=lambda: random.randint(0, SEED_MAX), inputs=None, outputs=seed, queue=False)
    page.loads.append((start, run))
    return checkpoint
