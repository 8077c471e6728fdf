"""The Interpolate tab: two MIDI files encoded and a path between their codes decoded,
step by step, with the audio of the whole path and of each step, and the piano rolls."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from pianoplay import defaults
from pianoplay.audio.plot import HALF, roll_grid_png
from pianoplay.errors import PianoplayError
from pianoplay.limits import STEPS_RANGE
from pianoplay.music.join import join_steps
from pianoplay.music.keys import NAMES
from pianoplay.music.midi import collect_repairs
from pianoplay.music.roll import shift_keys
from pianoplay.ui.core import ActionsCore, Progress, check_range, render_args, tick
from pianoplay.ui.inputs import open_dropdown, open_radio, open_slider, wire
from pianoplay.ui.notes import Notes
from pianoplay.ui.outputs import Piece, cut_wav, render_piece
from pianoplay.ui.page import (
    INTERACTIVE,
    LONG,
    MIDI_TYPES,
    TEMPERATURE_INFO,
    Page,
    examples,
    first,
    progress_of,
    user_errors,
)

TAB = "interpolate"
TITLE = "Interpolate"
# each step's roll, two to a row: 16 bars in two rows of 8 (one box height for every step)
STEP_LAYOUT = HALF
STEP_ROLL_HEIGHT = 290  # CSS px: a 16-bar step's picture; shorter steps keep the box
PATH_NOTES = {
    "bars": "- **Path**: bar by bar: each bar's code switches from A's to B's at a step of its "
    "own, so the steps between play bars of A, then bars of B.",
    "slerp": "- **Path**: slerp: every bar's code moves together through the latent space, so "
    "the steps between blend A and B.",
}


@dataclass
class Interpolation:
    """The decoded path between two pieces."""

    steps: list[Piece]  # one MIDI and roll per step (at its own length), A first, B last
    path: Piece  # the whole path as one MIDI and one WAV: the steps one after the other
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



class Actions(ActionsCore):
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
        performed: bool = True,
    ) -> Interpolation:
        """A path between the encodings of two MIDI files (paths or bytes), ``steps`` points,
        decoded at ``temperature`` (None: the checkpoint's default; 0: most likely notes).
        ``mode``, the path: "bars" (each bar's code switches from A's to B's at a step of its
        own; the faithful VAE's default) or "slerp" (every code moves together); None: the
        model's first of ``interpolation_modes``.

        Step 1 is the model's reconstruction of A and the last step that of B; each step
        is written in a key moving from A's (step 1) to B's (last step)."""
        notes = Notes()
        steps = notes.clamp("steps", steps, *STEPS_RANGE, integer=True)
        tempo, program = render_args(tempo, program, notes)
        if a is None or b is None:
            raise PianoplayError("Upload two MIDI files (or pick two examples) to interpolate.")
        vae = self._load(name, "interpolate", "Interpolation")
        temperature = self.vae_temperature(name, temperature)
        mode = mode or vae.interpolation_modes[0]
        tick(progress, 0.05, "encoding the two pieces")
        with collect_repairs() as repairs:
            enc = vae.encode_many([a, b])
        notes.extend(repairs)
        tick(progress, 0.2, "decoding the path")
        rolls = vae.interpolate(
            enc[0], enc[1], steps, temperature=temperature or None, seed=0,
            greedy=temperature == 0, mode=mode,
        )
        # Keys: from A's (undoing its move to C) to B's, in even semitone steps.
        shifts = np.rint(np.linspace(-enc[0].transpose, -enc[1].transpose, steps)).astype(int)
        keyed = [shift_keys(r, int(k)) for r, k in zip(rolls, shifts)]
        folder = self.outputs.new("interpolate")
        tick(progress, 0.4, "rendering audio")
        # each step at its own length: a tune shorter than the window is not padded with
        # bars of silence (at most a beat between two steps)
        joined = join_steps(keyed, vae.steps_per_quarter)
        path = render_piece(vae, joined.roll, folder, "path", tempo, program, png=False,
                             performed=performed)
        tick(progress, 0.8, "drawing piano rolls")
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
        def bar_of(e) -> int:  # steps in one bar of a piece's own metre (3/4: 3 quarters)
            num, den = e.time_signature
            return max(1, round(num * 4 * vae.steps_per_quarter / den))

        # a step's bars: A's metre in the first half of the path, B's in the second
        metre = [bar_of(enc[0]) if i < steps / 2 else bar_of(enc[1]) for i in range(steps)]
        trimmed = [joined.roll[s:e] for s, e in zip(joined.starts, joined.ends)]
        pieces = [
            render_piece(vae, r, folder, f"step_{i + 1:02d}", tempo, program, wav=False,
                         performed=performed,
                         title=titles[i], layout=STEP_LAYOUT,
                         bar_starts=list(range(0, len(r), metre[i])))
            for i, r in enumerate(trimmed)
        ]
        grid = roll_grid_png(trimmed, folder / "rolls.png", titles=titles, steps_per_bar=metre)
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
            steps_per_bar=[bar_of(enc[0])] * 2 + [bar_of(enc[1])] * 2,
            layout=HALF,
            titles=[
                "A: your file (the bars used)",
                "A: reconstruction (step 1)",
                "B: your file (the bars used)",
                "B: reconstruction (last step)",
            ],
        )
        step_seconds = [len(r) * 60.0 / (tempo * vae.steps_per_quarter) for r in trimmed]
        summary = _bars_summary(enc, [a, b]) + "\n" + _keys_summary(enc, shifts)
        summary += "\n" + PATH_NOTES[mode]
        if notes.lines:
            summary += "\n\n**Changed to play it:**\n" + notes.markdown()
        out = Interpolation(pieces, path, grid, step_seconds, summary, comparison)
        for i in range(steps):  # every step's player, cut from the path's audio
            out.step_wav(i)
        return out


def build(page: Page) -> gr.Dropdown:
    actions, render = page.actions, page.render
    names = actions.names("interpolate")
    bundled = examples()
    checkpoint = open_dropdown(
        names, value=first(names), label="VAE checkpoint", min_width=300,
        elem_id="interpolate-checkpoint",
    )
    uploads = []
    with gr.Row():
        for label in "AB":
            with gr.Column():
                upload = gr.File(
                    label=f"MIDI {label}",
                    file_types=MIDI_TYPES,
                    type="filepath",
                    elem_id=f"midi-{label.lower()}",
                )
                example = gr.Dropdown(
                    list(bundled), value=None, label=f"... or an example for {label}"
                )
                example.change(
                    lambda name: bundled.get(name),
                    example,
                    upload,
                    queue=False,
                    api_visibility="private",
                )
                uploads.append(upload)
    with gr.Row():
        steps = open_slider(*STEPS_RANGE, value=defaults.INTERPOLATION_STEPS, step=1,
                            label="Steps (A and B included)")
        temperature = open_slider(
            0,
            1.5,
            value=actions.decode_temperature(first(names)),
            step=0.05,
            label="Temperature",
            info=TEMPERATURE_INFO + "; sampling noise is fixed, so a path is repeatable",
        )
        path_choice = open_radio(
            ["default", "bars", "slerp"],
            value="default",
            label="Path",
            info="bars: each bar switches from A's code to B's at a step of its own (the steps "
            "between are real bars of A and of B); slerp: every bar's code moves together "
            "through the latent space (the steps between blend both, often fragments); "
            "default: the model's own (bars for vae-faithful, slerp for a VAE with one code "
            "for 16 bars)",
            elem_id="interpolate-path",
        )
    button = gr.Button("Interpolate", variant="primary", elem_id="interpolate-button")
    summary = gr.Markdown(elem_id="interpolate-summary")
    path_audio = gr.Audio(
        label="The whole path (each step at its own length)", type="filepath",
        interactive=False, elem_id="path-audio",
    )
    with gr.Row():
        step = open_slider(1, STEPS_RANGE[1], value=1, step=1, label="Play step",
                           info="drag, or type a step number", elem_id="play-step")
        step_audio = gr.Audio(
            label="Step", type="filepath", interactive=False, elem_id="step-audio"
        )
    # the pictures carry their titles; the captions sit above them, not over them
    gr.Markdown(
        "**What the model kept**: A and B beside their reconstructions (first and last step)"
    )
    compare = gr.Image(
        label="What the model kept: A and B beside their reconstructions (first and last step)",
        show_label=False,
        type="filepath",
        interactive=False,
    )
    gr.Markdown("**Every step**: its piano roll, and a player under it")
    slots = []
    for row in range(STEPS_RANGE[1] // 2):
        with gr.Row(equal_height=True):
            for i in (2 * row, 2 * row + 1):
                with gr.Column(visible=False, min_width=300) as column:
                    slots.append((
                        column,
                        gr.Image(
                            label=f"Step {i + 1}", show_label=False, type="filepath",
                            interactive=False, height=STEP_ROLL_HEIGHT,
                            elem_id=f"step-{i + 1}-roll", elem_classes=["pp-roll"],
                        ),
                        gr.Audio(label=f"Step {i + 1}", type="filepath", interactive=False,
                                 elem_id=f"step-{i + 1}-audio"),
                    ))
    with gr.Accordion("Every step in one picture", open=False):
        grid = gr.Image(
            label="Piano rolls of every step", show_label=False, type="filepath",
            interactive=False,
        )
    files = gr.File(
        label="Downloads: MIDI of each step, MIDI and WAV of the path",
        file_count="multiple",
        interactive=False,
    )
    result = gr.State(None)

    def interpolate(
        checkpoint,
        midi_a,
        midi_b,
        steps=8,
        temperature=0.0,
        path="default",
        tempo=120.0,
        program=0,
        performed=True,
        progress=gr.Progress(),
    ):
        """Interpolate between two MIDI files. Returns path WAV, roll grid PNG, list of MIDI/WAV
        files (step MIDIs, then path MIDI and WAV), a Markdown note of the bars and keys used,
        and a PNG of A and B beside their reconstructions. Temperature 0: most likely notes.
        Path: "bars", "slerp" or "default" (the checkpoint's own). A refused request
        leaves the page as it was and says why in the summary."""
        out = actions.interpolate(
            checkpoint, midi_a, midi_b, steps, tempo, program, temperature,
            progress=progress_of(progress), mode=None if path in ("", "default") else path,
            performed=performed,
        )
        downloads = [str(p.midi) for p in out.steps] + [str(out.path.midi), str(out.path.wav)]
        return str(out.path.wav), str(out.grid), downloads, out.summary, str(out.comparison), out

    def play_step(out, index):
        if out is None or index is None:
            return gr.skip()
        with user_errors():
            index = min(max(int(round(float(index))), 1), len(out.steps))
            return str(out.step_wav(index - 1))

    def show_steps(out):
        n = len(out.steps) if out is not None else 0
        updates = [gr.Slider(maximum=max(n, 2), value=1), play_step(out, 1) if n else None]
        for i, (_, roll, audio) in enumerate(slots):
            shown = i < n
            updates += [gr.Column(visible=shown),
                        str(out.steps[i].png) if shown else None,
                        str(out.step_wav(i)) if shown else None]
        return updates

    wire(
        button.click,
        interpolate,
        [checkpoint, *uploads, steps, temperature, path_choice, *render,
         page.shared["performed"]],
        [path_audio, grid, files, summary, compare, result],
        api_name="interpolate",
        message_at=3,
        **LONG,
    ).then(
        show_steps, result, [step, step_audio, *(c for slot in slots for c in slot)],
        api_visibility="private",
    )
    # a typed step number plays as a dragged one does
    for event in (step.release, step.input):
        event(play_step, [result, step], step_audio, api_visibility="private",
              trigger_mode="always_last", **INTERACTIVE)
    return checkpoint


def _keys_summary(encoded, shifts) -> str:
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
