"""The Infill tab: change only the bars you choose of your file, continue it, or give it
an introduction; the rest of the piece is yours, note for note (``/infill``)."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from pianoplay.errors import PianoplayError
from pianoplay.models.latent_prior.infill import infill, infill_ranker, parse_bars
from pianoplay.music.midi import collect_repairs
from pianoplay.ui.core import ActionsCore, Progress, new_seed, render_args, tick
from pianoplay.ui.inputs import open_dropdown, wire
from pianoplay.ui.notes import Notes
from pianoplay.ui.outputs import Piece, render_piece
from pianoplay.ui.page import LONG, MIDI_TYPES, SEED_INFO, Page, examples, first, progress_of

TAB = "infill"
TITLE = "Infill"


@dataclass
class Infill:
    piece: Piece
    summary: str


class Actions(ActionsCore):
    def infill(self, name: str, midi, bars, seed, tempo, program, style=None,
               progress: Progress | None = None, performed: bool = True) -> Infill:
        """The whole uploaded piece (path or bytes), in its key, metre and length, with only
        ``bars`` ("5-8", "17-24" past the end: a continuation, "intro 4") written anew by the
        checkpoint's latent prior."""
        notes = Notes()
        tempo_given = tempo not in (None, "")
        tempo, program = render_args(tempo if tempo_given else 120.0, program, notes)
        if midi is None:
            raise PianoplayError("Upload a MIDI file (or pick an example) to infill.")
        self.refuse(name, TAB)
        style = self.check_style(name, style)
        prior = self.registry.load(self.registry.sampler(name))
        vae = prior.vae
        seed = new_seed(seed)
        tick(progress, 0.05, "reading the file")
        with collect_repairs() as repairs:
            loaded = vae.load(midi)
        notes.extend(repairs)
        span = parse_bars(bars, len(loaded.bar_starts))
        tick(progress, 0.2, "writing the new bars")
        ranker = infill_ranker(self.registry, self.registry.sampler(name), style)
        result = infill(vae, prior, loaded, span, style=style, seed=seed, ranker=ranker)
        a, b = result.new_steps
        tick(progress, 0.6, "rendering audio")
        folder = self.outputs.new("infill")
        play_tempo = tempo if tempo_given else loaded.tempo
        keep = None  # the user's notes around the new bars keep the file's expression
        if performed and not span.intro:
            from pianoplay.models.performer import source_midi

            keep = (source_midi(midi), a / vae.steps_per_quarter, b / vae.steps_per_quarter)
        piece = render_piece(
            vae, result.roll, folder, f"infill_seed{seed}", play_tempo, program,
            title=f"{span.describe()} new, seed {seed}", seed=seed,
            marks=result.marks,
            bar_starts=result.bar_starts, source=loaded, performed=performed, keep=keep,
        )
        lo, hi = result.context_bars
        lines = [
            f"**{span.describe().capitalize()}** written anew ({style}, seed {seed}); every "
            f"other note is your file's.",
            f"The piece has {len(result.bar_starts)} bars of {loaded.time_signature[0]}/"
            f"{loaded.time_signature[1]} at {play_tempo:g} bpm; the model saw bars {lo}-{hi} "
            f"around the new ones (its window holds about {result.window_bars} bars).",
        ]
        if notes.lines:
            lines.append(notes.markdown())
        return Infill(piece=piece, summary="\n\n".join(lines))


def build(page: Page) -> gr.Dropdown:
    actions, render = page.actions, page.render
    names = actions.names(TAB)
    bundled = examples()
    with gr.Row():
        checkpoint = open_dropdown(names, value=first(names), label="Checkpoint",
                                   min_width=260, elem_id="infill-checkpoint")
        styles = actions.styles(first(names))
        style = open_dropdown(styles, value=first(styles), label="Style",
                              info="the music the new bars imitate",
                              visible=bool(styles), elem_id="infill-style")
    with gr.Row():
        with gr.Column():
            upload = gr.File(label="Your MIDI file", file_types=MIDI_TYPES, type="filepath",
                             elem_id="infill-midi")
            example = gr.Dropdown(list(bundled), value=None, label="... or an example")
            example.change(lambda n: bundled.get(n), example, upload, queue=False,
                           api_visibility="private")
        with gr.Column():
            bars = gr.Textbox(value="5-8", label="Bars to write",
                              info="5-8 changes bars 5 to 8; 17-24 on a 16-bar piece continues "
                              "it; 'intro 4' writes 4 bars before it", elem_id="infill-bars")
            seed = gr.Number(-1, precision=0, label="Seed", info=SEED_INFO)
            button = gr.Button("Write the bars", variant="primary", elem_id="infill-button")
    summary = gr.Markdown(elem_id="infill-summary")
    audio = gr.Audio(label="The piece", type="filepath", interactive=False,
                     elem_id="infill-audio")
    roll = gr.Image(label="Piano roll", show_label=False, type="filepath", interactive=False,
                    elem_id="infill-roll", elem_classes=["pp-roll"])
    midi_out = gr.File(label="MIDI", interactive=False)

    def run(checkpoint, midi, bars="5-8", seed=-1, tempo=None, program=0, performed=True,
            style="", progress=gr.Progress()):
        """Write `bars` ("5-8"; past the end, e.g. "17-24", continues the piece; "intro 4"
        writes an introduction) of the uploaded `midi` anew; every other note is kept.
        Returns the WAV, the piano roll (PNG), the MIDI and a Markdown summary."""
        result = actions.infill(checkpoint, midi, bars, seed, tempo, program, style,
                                progress_of(progress), performed=performed)
        p = result.piece
        return str(p.wav), str(p.png), str(p.midi), result.summary

    def restyle(name):
        found = actions.styles(name)
        return gr.update(choices=found, value=first(found), visible=bool(found))

    checkpoint.change(restyle, checkpoint, style, queue=False, api_visibility="private")
    inputs = [checkpoint, upload, bars, seed, *render, page.shared["performed"], style]
    wire(button.click, run, inputs, [audio, roll, midi_out, summary], api_name="infill",
         message_at=3, **LONG)
    return checkpoint
