"""The Sample tab: new pieces from any checkpoint that serves it (a VAE's prior, or a
language model's sampling), with audio, piano rolls and downloads."""

from __future__ import annotations

import functools

import gradio as gr

from pianoplay import defaults
from pianoplay.audio.plot import QUARTER
from pianoplay.ui.core import (
    MAX_LM_BARS,
    MAX_SAMPLES,
    TEMPO_RANGE,
    ActionsCore,
    Progress,
    check_range,
    new_seed,
    render_args,
    tick,
)
from pianoplay.ui.inputs import open_dropdown, open_slider, wire
from pianoplay.ui.notes import Notes
from pianoplay.ui.outputs import Piece, render_piece
from pianoplay.ui.page import (
    SAMPLING,
    SEED_INFO,
    Page,
    first,
    or_skip,
    progress_of,
    seed_text,
    user_errors,
)

TAB = "sample"
TITLE = "Sample"


class Actions(ActionsCore):
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
        performed: bool = True,
        style: str | None = None,
    ) -> list[Piece]:
        """``n`` new pieces of ``bars`` bars from any checkpoint (VAE prior or LM sampling),
        performed (velocities and pedal) unless ``performed`` is False."""
        n = check_range("Count", n, 1, MAX_SAMPLES, integer=True)
        temperature = check_range("Temperature", temperature, 0.05, 3.0)
        tempo, program = render_args(tempo, program)
        self.refuse(name, "sample")
        style = self.check_style(name, style)
        model = self.registry.load(self.registry.sampler(name))  # vae-faithful: its prior
        is_vae = not self._info(name).spec.strategies  # a language model samples by strategy
        max_bars = model.n_steps // model.steps_per_bar if is_vae else MAX_LM_BARS
        bars = check_range("Bars", bars, 1, max_bars, integer=True)
        seed = new_seed(seed)
        steps = bars * model.steps_per_bar
        tick(progress, 0.1, "sampling")
        if style is not None:  # a latent prior writes codes for its VAE
            rolls = model.sample_pieces(n, style=style, seed=seed, steps=steps,
                                        temperature=temperature)
        elif is_vae:  # decode z from the VAE's own prior
            rolls = model.sample(n, temperature=temperature, seed=seed, steps=steps)
        else:
            rolls = model.generate(
                n=n, steps=steps, strategy="sample", temperature=temperature, seed=seed
            )
        folder = self.outputs.new("sample")
        pieces = []
        for i, roll in enumerate(rolls):
            tick(progress, 0.3 + 0.7 * i / n, f"rendering sample {i + 1} of {n}")
            pieces.append(
                render_piece(
                    model,
                    roll,
                    folder,
                    f"sample_{i + 1}_seed{seed}",
                    tempo,
                    program,
                    title=f"sample {i + 1}, seed {seed}" + (f", {style}" if style else ""),
                    seed=seed,
                    layout=QUARTER,  # four side by side
                    performed=performed,
                )
            )
        return pieces


def build(page: Page) -> gr.Dropdown:
    actions, render = page.actions, page.render
    names = actions.names("sample")
    with gr.Row():
        checkpoint = open_dropdown(
            names,
            value=first(names),
            label="Checkpoint",
            min_width=260,
            elem_id="sample-checkpoint",
        )
        count = open_slider(1, MAX_SAMPLES, value=defaults.SAMPLES, step=1, label="Count")
        # API calls may ask up to MAX_LM_BARS (an LM); the page narrows it to the chosen
        # checkpoint's limit on load and on every change of checkpoint
        bars = open_slider(
            1,
            MAX_LM_BARS,
            value=defaults.BARS,
            step=1,
            label="Bars",
            info="up to what the checkpoint writes (a VAE: its window)",
            elem_id="sample-bars",
        )
        temperature = open_slider(
            *defaults.TEMPERATURE_RANGE, value=actions.default_temperature(first(names)), step=0.05,
            label="Temperature", info=actions.temperature_hint(first(names)),
        )
        seed = gr.Number(-1, precision=0, label="Seed", info=SEED_INFO)  # checked by the action
        styles = actions.styles(first(names))
        style = gr.Dropdown(
            styles, value=first(styles), label="Style", allow_custom_value=True,
            info="the music the prior imitates", visible=bool(styles), elem_id="sample-style",
        )
    button = gr.Button("Sample", variant="primary", elem_id="sample-button")
    seed_note = gr.Markdown(elem_id="sample-seed")
    slots = []
    with gr.Row():
        for i in range(MAX_SAMPLES):
            with gr.Column(visible=False, min_width=240) as column:
                slots.append(
                    (
                        column,
                        gr.Audio(
                            label=f"Sample {i + 1}",
                            type="filepath",
                            interactive=False,
                            elem_id=f"sample-{i + 1}-audio",
                        ),
                        # the picture carries its own title (sample N, seed S)
                        gr.Image(
                            label=f"Piano roll {i + 1}",
                            show_label=False,
                            type="filepath",
                            interactive=False,
                            elem_id=f"sample-{i + 1}-roll",
                            elem_classes=["pp-roll"],
                        ),
                    )
                )
    with gr.Accordion("Downloads", open=False):
        wavs = gr.File(label="WAV", file_count="multiple", interactive=False)
        midis = gr.File(label="MIDI", file_count="multiple", interactive=False)
        pngs = gr.File(label="Piano rolls (PNG)", file_count="multiple", interactive=False)
    shown = gr.State(None)

    def sample(
        checkpoint,
        count=2,
        bars=16,
        temperature=1.0,
        seed=-1,
        tempo=120.0,
        program=0,
        performed=True,
        style="",
        progress=gr.Progress(),
    ):
        """Sample `count` pieces (seed -1: a new random seed, written into the file names as
        `_seedS`); `style` names the music a latent prior imitates (vae-faithful:
        nottingham or piano-midi-de; empty: the first). Returns lists of WAV, MIDI and PNG
        file paths, one per piece."""
        with user_errors():
            pieces = actions.sample(
                checkpoint, count, bars, temperature, seed, tempo, program, progress_of(progress),
                performed=performed, style=style,
            )
        files = [[str(getattr(p, kind)) for p in pieces] for kind in ("wav", "midi", "png")]
        return *files, (list(zip(files[0], files[2])), pieces[0].seed)

    def show(result):
        if isinstance(result, str):  # refused: the message, and the last pieces stay
            return [result] + [gr.skip()] * (3 * len(slots))
        pieces, used_seed, *notes = result or ([], None)
        updates = [seed_text(used_seed) + (f"\n\n{notes[0]}" if notes and notes[0] else "")]
        for i in range(len(slots)):
            wav, png = pieces[i] if i < len(pieces) else (None, None)
            updates += [gr.Column(visible=wav is not None), wav, png]
        return updates

    def limit_bars(checkpoint, value):
        with user_errors():
            most = actions.max_bars(checkpoint) if checkpoint else MAX_LM_BARS
        return gr.Slider(maximum=most, value=min(value, most))

    follow_limits = dict(fn=limit_bars, inputs=[checkpoint, bars], outputs=bars, queue=False)
    checkpoint.change(**follow_limits, api_visibility="private")
    checkpoint.change(
        or_skip(lambda name: gr.update(value=actions.default_temperature(name),
                                       info=actions.temperature_hint(name))),
        checkpoint, temperature, queue=False, api_visibility="private",
    )
    checkpoint.change(
        lambda name: gr.update(choices=actions.styles(name), value=first(actions.styles(name)),
                               visible=bool(actions.styles(name))),
        checkpoint, style, queue=False, api_visibility="private",
    )
    sample = _noted(sample)
    wire(
        button.click,
        sample,
        [checkpoint, count, bars, temperature, seed, *render, page.shared["performed"], style],
        [wavs, midis, pngs, shown],
        api_name="sample",
        message_at=3,
        **SAMPLING,
    ).then(
        show,
        shown,
        [seed_note, *(c for slot in slots for c in slot)],
        queue=False,
        api_visibility="private",
    )
    page.loads.append(follow_limits)
    return checkpoint


def _noted(sample):
    """The tab's ``sample`` with a tempo outside the app's range played at its nearest end,
    and that change noted beside the seed (``shown`` carries the note)."""

    @functools.wraps(sample)
    def run(checkpoint, count=2, bars=16, temperature=1.0, seed=-1, tempo=120.0, *rest, **kw):
        notes = Notes()
        tempo = notes.clamp("tempo", tempo, *TEMPO_RANGE, done="played")
        *files, (pairs, used_seed) = sample(checkpoint, count, bars, temperature, seed, tempo,
                                            *rest, **kw)
        return *files, (pairs, used_seed, notes.markdown())

    return run
