"""The Generate tab: one piece from a language model with a decoding strategy it offers
(and only the controls that strategy reads), optionally continuing your MIDI file."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import numpy as np

from pianoplay import defaults
from pianoplay.decoding import CONTROLS, STRATEGIES
from pianoplay.errors import PianoplayError
from pianoplay.limits import PRIMER_BARS
from pianoplay.music.midi import collect_repairs
from pianoplay.music.roll import load_roll, shift_keys
from pianoplay.ui.core import (
    MAX_LM_BARS,
    TEMPO_RANGE,
    ActionsCore,
    Progress,
    check_range,
    new_seed,
    render_args,
    tick,
)
from pianoplay.ui.inputs import open_dropdown, open_radio, open_slider, wire
from pianoplay.ui.notes import Notes
from pianoplay.ui.outputs import Piece, render_piece
from pianoplay.ui.page import (
    LONG,
    MIDI_TYPES,
    SEED_INFO,
    Page,
    first,
    progress_of,
    seed_text,
    user_errors,
)

TAB = "generate"
TITLE = "Generate"


@dataclass
class Primer:
    """The first bars of an uploaded MIDI file, as a language model continues them."""

    roll: np.ndarray  # (P, 88) in C (the model's key), P steps
    transpose: int  # semitones that moved it to C
    tempo: float  # its bpm (clamped to TEMPO_RANGE)
    key: str  # its key's name, e.g. "D major"
    bar_starts: list[int] | None = None  # its own bars (6/8 bars for a jig), in steps
    notes: list[str] | None = None  # what was changed to continue it (tempo, repairs)



class Actions(ActionsCore):
    def strategies(self, name: str | None) -> tuple[str, ...]:
        """The decoding strategies a language model offers (its family's, less those its
        config refuses); the first is its default."""
        return self._info(name).strategies if name else ()

    def strategy_hint(self, name: str | None) -> str:
        """What the offered strategies do, beyond their names, and what is not offered."""
        offered = self.strategies(name)
        hints = {"beam": "beam sampling, the likeliest of sampled bars",
                 "greedy": "the likeliest frame, avoiding frames of the last 4 bars"}
        parts = [f"{s}: {hints[s]}" for s in offered if s in hints]
        refused = [s for s in STRATEGIES if s not in offered]
        if name and refused:
            parts.append(f"{name} does not offer {', '.join(refused)}")
        return "; ".join(parts)

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
        performed: bool = True,
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
        notes = Notes()
        tempo, program = render_args(tempo, program, notes)
        seed = new_seed(seed)
        lm = self._load(name, "generate", "Generation")
        self.registry.refuse_strategy(name, strategy)
        given = self._primer(lm, primer) if primer else None
        tick(progress, 0.1, f"decoding ({strategy})")
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
        tick(progress, 0.6, "rendering audio")
        title, marks, bar_starts = f"{name}, {strategy}, seed {seed}", None, None
        keep = None  # the primer's notes keep the file's own velocities and pedal
        if given is not None:
            roll = shift_keys(roll, -given.transpose)  # back in the primer's key
            tempo = given.tempo
            marks = {len(given.roll): "primer ends"}
            bar_starts = given.bar_starts  # the roll counts bars in the primer's metre
            if performed:
                from pianoplay.models.performer import source_midi

                keep = (source_midi(primer), len(given.roll) / lm.steps_per_quarter)
            title += f", continuing the primer in {given.key}, {tempo:g} bpm"
            notes = Notes()  # the primer's tempo is played, not the slider's
            notes.extend(given.notes or [])
        piece = render_piece(
            lm,
            roll,
            self.outputs.new("generate"),
            f"generated_seed{seed}",
            tempo,
            program,
            title=title,
            seed=seed,
            marks=marks,
            bar_starts=bar_starts,
            performed=performed,
            keep=keep,
        )
        piece.notes = notes.lines
        return piece

    @staticmethod
    def _primer(lm, source) -> Primer:
        rep = lm.config.get("representation", {})
        with collect_repairs() as repairs:
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
        notes = Notes()
        notes.extend(repairs)
        tempo = notes.clamp("the primer's tempo", round(float(loaded.tempo or 120.0), 1),
                            *TEMPO_RANGE, done="played")
        return Primer(roll, int(loaded.transpose), round(tempo, 1), loaded.key.name,
                      [s for s in starts if s < end], notes.lines)


def build(page: Page) -> gr.Dropdown:
    actions, render = page.actions, page.render
    names = actions.names("generate")
    chosen = first(names)
    offered = actions.strategies(chosen)
    with gr.Row():
        checkpoint = open_dropdown(
            names, value=chosen, label="Language model", elem_id="generate-checkpoint"
        )
        # every strategy for API calls; the page narrows the choice to the model's own
        strategy = open_radio(  # any value reaches the action, which refuses unknown ones
            list(STRATEGIES),
            value=first(offered),
            label="Strategy",
            info=actions.strategy_hint(chosen),
            elem_id="generate-strategy",
        )
    shown = CONTROLS.get(strategy.value, ())
    with gr.Row():
        temperature = open_slider(
            *defaults.TEMPERATURE_RANGE, value=actions.default_temperature(chosen), step=0.05,
            label="Temperature", info=actions.temperature_hint(chosen),
            visible="temperature" in shown, elem_id="generate-temperature",
        )
        beam_width = open_slider(
            *defaults.BEAM_WIDTH_RANGE, value=defaults.BEAM_WIDTH, step=1, label="Beam width",
            visible="beam_width" in shown,
            elem_id="generate-beam-width",
        )
        top_k = open_slider(
            *defaults.TOP_K_RANGE, value=defaults.TOP_K, step=1, label="Top-k",
            visible="top_k" in shown,
            elem_id="generate-top-k",
        )
        top_p = open_slider(
            *defaults.TOP_P_RANGE, value=defaults.TOP_P, step=0.05, label="Top-p",
            visible="top_p" in shown,
            elem_id="generate-top-p",
        )
    controls = {"temperature": temperature, "beam_width": beam_width, "top_k": top_k,
                "top_p": top_p}
    with gr.Row():
        bars = open_slider(1, MAX_LM_BARS, value=defaults.BARS, step=1, label="Bars")
        seed = gr.Number(-1, precision=0, label="Seed", info=SEED_INFO)  # checked by the action
        primer = gr.File(
            label=f"Primer MIDI (optional; its first {PRIMER_BARS} bars are continued in its key "
            "and tempo; the roll marks where it ends)",
            file_types=MIDI_TYPES,
            type="filepath",
            elem_id="generate-primer",
        )
    button = gr.Button("Generate", variant="primary", elem_id="generate-button")
    seed_note = gr.Markdown(elem_id="generate-seed")
    with gr.Row():
        audio = gr.Audio(
            label="Generated", type="filepath", interactive=False, elem_id="generate-audio"
        )
        midi = gr.File(label="MIDI", interactive=False)
    # the picture carries its own title (model, strategy, seed)
    roll = gr.Image(
        label="Piano roll",
        show_label=False,
        type="filepath",
        interactive=False,
        elem_id="generate-roll",
        elem_classes=["pp-roll"],
    )
    used_seed = gr.State(None)

    def generate(
        checkpoint,
        strategy="top-p",
        temperature=1.0,
        beam_width=8,
        top_k=20,
        top_p=0.9,
        bars=16,
        seed=-1,
        primer=None,
        tempo=120.0,
        program=0,
        performed=True,
        progress=gr.Progress(),
    ):
        """Generate one piece with a language model (seed -1: a new random seed, written into
        the file names as `_seedS`). Returns WAV, roll PNG and MIDI paths."""
        with user_errors():
            piece = actions.generate(
                checkpoint,
                strategy=strategy,
                temperature=temperature,
                beam_width=beam_width,
                top_k=top_k,
                top_p=top_p,
                bars=bars,
                seed=seed,
                primer=primer,
                tempo=tempo,
                program=program,
                progress=progress_of(progress),
                performed=performed,
            )
        return str(piece.wav), str(piece.png), str(piece.midi), (piece.seed, piece.notes)

    def show_controls(chosen):
        used = CONTROLS.get(chosen, ())
        return [gr.update(visible=name in used) for name in controls]

    def follow_model(name, current):
        """The model's strategies (the current one kept when offered), their controls, and
        hints and a temperature of its own."""
        if not name:
            return [gr.skip()] * (2 + len(controls))
        with user_errors():
            offered = actions.strategies(name)
            value = current if current in offered else first(offered)
            radio = gr.update(choices=offered, value=value, info=actions.strategy_hint(name))
            used = CONTROLS.get(value, ())
            heat = gr.update(visible="temperature" in used, value=actions.default_temperature(name),
                             info=actions.temperature_hint(name))
        others = [gr.update(visible=c in used) for c in controls if c != "temperature"]
        return [radio, heat, *others]

    strategy.change(
        show_controls, strategy, list(controls.values()), queue=False, api_visibility="private"
    )
    follow = dict(fn=follow_model, inputs=[checkpoint, strategy],
                  outputs=[strategy, *controls.values()], queue=False)
    checkpoint.change(**follow, api_visibility="private")
    page.loads.append(follow)
    def seed_and_notes(used):
        if isinstance(used, str):  # refused: its message; the last piece stays
            return used
        seed, notes = used if isinstance(used, tuple) else (used, [])
        return seed_text(seed) + "".join(f"\n- {line}" for line in notes)

    wire(
        button.click,
        generate,
        [checkpoint, strategy, temperature, beam_width, top_k, top_p, bars, seed, primer, *render,
         page.shared["performed"]],
        [audio, roll, midi, used_seed],
        api_name="generate",
        message_at=3,
        **LONG,
    ).then(seed_and_notes, used_seed, seed_note, queue=False, api_visibility="private")
    return checkpoint
