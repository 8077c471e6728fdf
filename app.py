"""pianoplay in the browser: sample, steer, interpolate and generate piano music.

    python app.py                      # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8000 --device cpu

The UI is built here; everything it does is in :mod:`pianoplay.ui.actions`.
API endpoints (``gradio_client``): ``/sample``, ``/decode_latent``,
``/interpolate``, ``/generate``; see the README.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import threading
from contextlib import contextmanager

import gradio as gr
from gradio.utils import get_upload_folder

from pianoplay.decoding import STRATEGIES
from pianoplay.errors import PianoplayError
from pianoplay.limits import PRIMER_BARS, STEPS_RANGE
from pianoplay.paths import ASSETS_DIR
from pianoplay.ui.actions import (
    ATTRIBUTE_SLIDERS,
    AXIS_SLIDERS,
    MAX_LM_BARS,
    MAX_SAMPLES,
    SEED_MAX,
    Actions,
)
from pianoplay.ui.outputs import Outputs

MAX_UPLOAD = "2mb"
MIDI_TYPES = [".mid", ".midi"]
SEED_INFO = "-1: a new random seed each time (the seed used is shown with the result)"
# The controls each decoding strategy reads (the others are hidden); a strategy not
# listed here shows them all.
STRATEGY_CONTROLS = {
    "sample": ("temperature",),
    "greedy": (),
    "top-k": ("temperature", "top_k"),
    "top-p": ("temperature", "top_p"),
    "beam": ("temperature", "beam_width"),
}
ALL_CONTROLS = ("temperature", "beam_width", "top_k", "top_p")
# Queue groups, each with its own workers, so a slider release (~0.2 s) never waits
# behind sampling (~0.3-1 s) or an interpolation or beam search (~1.5 s).
INTERACTIVE = dict(concurrency_id="interactive", concurrency_limit=2)
SAMPLING = dict(concurrency_id="sample", concurrency_limit=1)
LONG = dict(concurrency_id="long", concurrency_limit=1)
QUEUE_SIZE = 200
PLAYHEAD_JS = ASSETS_DIR / "playhead.js"
log = logging.getLogger("pianoplay.app")
TEMPERATURE_INFO = "0: the most likely notes (a faithful model gives your file back)"
ATTRIBUTE_INFO = {
    "density": "notes per frame",
    "register": "mean pitch",
    "polyphony": "keys sounding together",
    "rhythm": "how often notes start",
}


@contextmanager
def user_errors():
    """Show library errors as a message in the page instead of a crash, and log one
    line (not a traceback: the user's input, not the server, was wrong)."""
    try:
        yield
    except PianoplayError as err:
        log.warning("refused: %s", err)
        raise gr.Error(str(err), print_exception=False) from None


def _seed_note(seed) -> str:
    return f"Seed **{seed}**: type it into *Seed* to make this again." if seed is not None else ""


def _progress(progress: gr.Progress):
    return lambda fraction, what: progress(fraction, desc=what)


def _first(names: list[str]) -> str | None:
    return names[0] if names else None


def _programs() -> list[tuple[str, int]]:
    import pretty_midi

    return [(f"{p} {pretty_midi.program_to_instrument_name(p)}", p) for p in range(128)]


def _examples() -> dict[str, str]:
    return {p.stem.replace("_", " "): str(p) for p in sorted(ASSETS_DIR.glob("*.mid"))}


def build_app(registry) -> gr.Blocks:
    """The whole UI over the checkpoints of ``registry`` (nothing is loaded until used)."""
    # Files returned from inside Gradio's upload folder are served as they are;
    # from anywhere else Gradio hashes and copies every file of every response.
    actions = Actions(registry, Outputs(get_upload_folder()))
    with gr.Blocks(title="pianoplay") as demo:
        demo.actions = actions  # for main(): warm-up after launch
        gr.Markdown(
            "# pianoplay\nPiano music from neural networks: an LSTM-VAE you can steer and "
            "interpolate, and chord-LSTMs with beam search. Everything renders to audio here."
        )
        with gr.Accordion("Rendering", open=False), gr.Row():
            tempo = gr.Slider(40, 240, value=120, step=1, label="Tempo (bpm)")
            program = gr.Dropdown(
                _programs(), value=0, label="Instrument (General MIDI program)"
            )
        render = [tempo, program]
        with gr.Tabs():
            with gr.Tab("Model"):
                pickers = _model_tab(actions, render)
            with gr.Tab("Sample"):
                pickers["sample"], sample_limits = _sample_tab(actions, render)
            with gr.Tab("Latent sliders"):
                pickers["vae"], decode_start = _latent_tab(actions, render)
            with gr.Tab("Interpolate"):
                pickers["interpolate"] = _interpolate_tab(actions, render)
            with gr.Tab("Generate"):
                pickers["lm"] = _generate_tab(actions, render)
        _follow_model_picker(actions, pickers)
        demo.load(**sample_limits, api_visibility="private")
        # the Latent tab shows its start: a random point, decoded
        demo.load(
            lambda: random.randint(0, SEED_MAX), None, decode_start["inputs"][1], queue=False,
            api_visibility="private",
        ).then(**decode_start, api_visibility="private")
    return demo


def _model_tab(actions: Actions, render: list) -> dict:
    names = actions.registry.names()
    picker = gr.Dropdown(
        names,
        value=_first(names),
        label="Checkpoint",
        info="The other tabs use this model when its family fits.",
    )
    with gr.Row():
        listen = gr.Button("Listen: a short sample of this model", scale=0, min_width=260)
        preview = gr.Audio(
            label="Sample", type="filepath", interactive=False, elem_id="model-audio"
        )
    card = gr.Markdown(actions.model_card(_first(names)) if names else "No checkpoints found.")

    def show_card(name):
        with user_errors():
            return actions.model_card(name)

    def play_preview(name, tempo, program):
        with user_errors():
            return str(actions.preview(name, tempo, program).wav)

    picker.change(show_card, picker, card, api_visibility="private")
    picker.change(lambda: None, None, preview, queue=False, api_visibility="private")
    listen.click(
        play_preview, [picker, *render], preview, api_visibility="private", **INTERACTIVE
    )
    return {"model": picker}


def _follow_model_picker(actions: Actions, pickers: dict) -> None:
    """Choosing a model on the Model tab selects it on every tab that can use it."""
    tabs = {"sample": "sample", "vae": "latent", "interpolate": "interpolate", "lm": "generate"}
    targets = list(tabs)

    def follow(name, *current):
        served = actions.registry.info(name).tabs if name else ()
        return [name if tab in served else cur for tab, cur in zip(tabs.values(), current)]

    pickers["model"].change(
        follow,
        [pickers["model"], *(pickers[t] for t in targets)],
        [pickers[t] for t in targets],
        queue=False,
        api_visibility="private",
    )


def _sample_tab(actions: Actions, render: list) -> tuple[gr.Dropdown, dict]:
    names = actions.names("sample")
    with gr.Row():
        checkpoint = gr.Dropdown(
            names,
            value=_first(names),
            label="Checkpoint",
            min_width=260,
            elem_id="sample-checkpoint",
        )
        count = gr.Slider(1, MAX_SAMPLES, value=2, step=1, label="Count")
        # API calls may ask up to MAX_LM_BARS (an LM); the page narrows it to the chosen
        # checkpoint's limit on load and on every change of checkpoint
        bars = gr.Slider(
            1,
            MAX_LM_BARS,
            value=16,
            step=1,
            label="Bars",
            info="up to what the checkpoint writes (a VAE: its window)",
            elem_id="sample-bars",
        )
        temperature = gr.Slider(
            0.1, 2.0, value=actions.default_temperature(_first(names)), step=0.05,
            label="Temperature", info="follows the model's default",
        )
        seed = gr.Number(-1, precision=0, minimum=-1, label="Seed", info=SEED_INFO)
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
        progress=gr.Progress(),
    ):
        """Sample `count` pieces (seed -1: a new random seed, written into the file names as
        `_seedS`). Returns lists of WAV, MIDI and PNG file paths, one per piece."""
        with user_errors():
            pieces = actions.sample(
                checkpoint, count, bars, temperature, seed, tempo, program, _progress(progress)
            )
        files = [[str(getattr(p, kind)) for p in pieces] for kind in ("wav", "midi", "png")]
        return *files, (list(zip(files[0], files[2])), pieces[0].seed)

    def show(result):
        pieces, used_seed = result or ([], None)
        updates = [_seed_note(used_seed)]
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
        actions.default_temperature, checkpoint, temperature, queue=False,
        api_visibility="private",
    )
    button.click(
        sample,
        [checkpoint, count, bars, temperature, seed, *render],
        [wavs, midis, pngs, shown],
        api_name="sample",
        **SAMPLING,
    ).then(
        show,
        shown,
        [seed_note, *(c for slot in slots for c in slot)],
        queue=False,
        api_visibility="private",
    )
    return checkpoint, follow_limits


def _latent_tab(actions: Actions, render: list) -> gr.Dropdown:
    names = actions.names("latent")
    gr.Markdown(
        "Start from a random point (the seed) or from **your own MIDI file** (its best 16 "
        "bars are encoded), move it along the main axes of the training encodings and along "
        "attribute vectors; releasing a slider re-decodes."
    )
    with gr.Row():
        checkpoint = gr.Dropdown(
            names, value=_first(names), label="VAE checkpoint", min_width=300, scale=2
        )
        seed = gr.Number(
            1,
            precision=0,
            minimum=0,
            label="Start point (seed)",
            info="a random one when the page opens; Randomize draws another",
            elem_id="latent-seed",
        )
        temperature = gr.Slider(
            0,
            1.5,
            value=actions.decode_temperature(_first(names)),
            step=0.05,
            label="Temperature",
            info=TEMPERATURE_INFO,
            scale=2,
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
            reset = gr.Button("Reset sliders")
            decode = gr.Button("Decode", variant="primary")
    with gr.Row():
        with gr.Column():
            axes = {
                name: gr.Slider(
                    -3,
                    3,
                    value=0,
                    step=0.1,
                    label=f"axis {k + 1}",
                    info="principal direction of the training encodings, in std",
                )
                for k, name in enumerate(AXIS_SLIDERS)
            }
        with gr.Column():
            attributes = {
                name: gr.Slider(-2, 2, value=0, step=0.1, label=name, info=info)
                for name, info in ATTRIBUTE_INFO.items()
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
    roll = gr.Image(
        label="Piano roll",
        show_label=False,
        type="filepath",
        interactive=False,
        elem_id="latent-roll",
        elem_classes=["pp-roll"],
    )
    sliders = {**axes, **attributes}
    assert set(attributes) == set(ATTRIBUTE_SLIDERS)

    def decode_latent(
        checkpoint, seed=1, temperature=0.0, tempo=120.0, program=0, midi=None, **amounts
    ):
        """Decode the start point (the prior sample `seed`, or the encoding of `midi` when
        given) moved by the slider amounts. Temperature 0: the most likely notes.
        Returns WAV, roll PNG, map PNG and MIDI paths."""
        with user_errors():
            piece, map_png = actions.decode_latent(
                checkpoint, seed, amounts, tempo, program, temperature, midi
            )
        return str(piece.wav), str(piece.png), str(map_png), str(piece.midi)

    def relabel(checkpoint):
        with user_errors():
            labels = actions.latent_labels(checkpoint) if checkpoint else {}
        return [gr.Slider(label=labels.get(name, name)) for name in AXIS_SLIDERS]

    run = dict(
        fn=decode_latent,
        inputs=[checkpoint, seed, temperature, *render, start_midi],
        inputs_kwargs=sliders,
        outputs=[audio, roll, latent_map, midi],
        **INTERACTIVE,
    )
    decode.click(**run, api_name="decode_latent")
    start_midi.change(**run, api_visibility="private")
    for slider in sliders.values():
        slider.release(**run, api_visibility="private")
    randomize.click(
        lambda: random.randint(0, 2**31 - 1), None, seed, queue=False, api_visibility="private"
    ).then(**run, api_visibility="private")
    reset.click(
        lambda: [0.0] * len(sliders),
        None,
        list(sliders.values()),
        queue=False,
        api_visibility="private",
    ).then(**run, api_visibility="private")
    checkpoint.change(relabel, checkpoint, list(axes.values()), api_visibility="private")
    checkpoint.change(
        actions.decode_temperature, checkpoint, temperature, queue=False,
        api_visibility="private",
    )
    return checkpoint, run


def _interpolate_tab(actions: Actions, render: list) -> gr.Dropdown:
    names = actions.names("interpolate")
    examples = _examples()
    checkpoint = gr.Dropdown(names, value=_first(names), label="VAE checkpoint", min_width=300)
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
                    list(examples), value=None, label=f"... or an example for {label}"
                )
                example.change(
                    lambda name: examples.get(name),
                    example,
                    upload,
                    queue=False,
                    api_visibility="private",
                )
                uploads.append(upload)
    with gr.Row():
        steps = gr.Slider(*STEPS_RANGE, value=8, step=1, label="Steps (A and B included)")
        temperature = gr.Slider(
            0,
            1.5,
            value=actions.decode_temperature(_first(names)),
            step=0.05,
            label="Temperature",
            info=TEMPERATURE_INFO + "; sampling noise is fixed, so a path is repeatable",
        )
        path_choice = gr.Radio(
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
    summary = gr.Markdown()
    path_audio = gr.Audio(
        label="The whole path", type="filepath", interactive=False, elem_id="path-audio"
    )
    with gr.Row():
        step = gr.Slider(1, 16, value=1, step=1, label="Play step")
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
    gr.Markdown("**Piano rolls of every step**")
    grid = gr.Image(
        label="Piano rolls of every step", show_label=False, type="filepath", interactive=False
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
        progress=gr.Progress(),
    ):
        """Interpolate between two MIDI files. Returns path WAV, roll grid PNG, list of MIDI/WAV
        files (step MIDIs, then path MIDI and WAV), a Markdown note of the bars and keys used,
        and a PNG of A and B beside their reconstructions. Temperature 0: most likely notes.
        Path: "bars", "slerp" or "default" (the checkpoint's own)."""
        with user_errors():
            out = actions.interpolate(
                checkpoint, midi_a, midi_b, steps, tempo, program, temperature,
                progress=_progress(progress), mode=None if path in ("", "default") else path,
            )
        downloads = [str(p.midi) for p in out.steps] + [str(out.path.midi), str(out.path.wav)]
        return str(out.path.wav), str(out.grid), downloads, out.summary, str(out.comparison), out

    def play_step(out, index):
        if out is None:
            return None
        with user_errors():
            return str(out.step_wav(min(int(index), len(out.steps)) - 1))

    def first_step(out):
        n = len(out.steps) if out is not None else 16
        return gr.Slider(maximum=n, value=1), play_step(out, 1)

    button.click(
        interpolate,
        [checkpoint, *uploads, steps, temperature, path_choice, *render],
        [path_audio, grid, files, summary, compare, result],
        api_name="interpolate",
        **LONG,
    ).then(first_step, result, [step, step_audio], api_visibility="private")
    step.release(play_step, [result, step], step_audio, api_visibility="private", **INTERACTIVE)
    return checkpoint


def _generate_tab(actions: Actions, render: list) -> gr.Dropdown:
    names = actions.names("generate")
    with gr.Row():
        checkpoint = gr.Dropdown(names, value=_first(names), label="Language model")
        strategy = gr.Radio(
            list(STRATEGIES),
            value="top-p",
            label="Strategy",
            info="beam: beam sampling, the likeliest of sampled bars; greedy: the likeliest "
            "frame, avoiding frames of the last 4 bars; roll-LSTM: sample only",
        )
    shown = STRATEGY_CONTROLS.get(strategy.value, ALL_CONTROLS)
    with gr.Row():
        temperature = gr.Slider(
            0.1, 2.0, value=actions.default_temperature(_first(names)), step=0.05,
            label="Temperature", info="follows the model's default (chord-lstm-classical: 0.9)",
            visible="temperature" in shown, elem_id="generate-temperature",
        )
        beam_width = gr.Slider(
            1, 16, value=8, step=1, label="Beam width", visible="beam_width" in shown,
            elem_id="generate-beam-width",
        )
        top_k = gr.Slider(
            1, 200, value=20, step=1, label="Top-k", visible="top_k" in shown,
            elem_id="generate-top-k",
        )
        top_p = gr.Slider(
            0.05, 1.0, value=0.9, step=0.05, label="Top-p", visible="top_p" in shown,
            elem_id="generate-top-p",
        )
    controls = {"temperature": temperature, "beam_width": beam_width, "top_k": top_k,
                "top_p": top_p}
    with gr.Row():
        bars = gr.Slider(1, MAX_LM_BARS, value=16, step=1, label="Bars")
        seed = gr.Number(-1, precision=0, minimum=-1, label="Seed", info=SEED_INFO)
        primer = gr.File(
            label=f"Primer MIDI (optional; its first {PRIMER_BARS} bars are continued in its key "
            "and tempo; the roll marks where it ends)",
            file_types=MIDI_TYPES,
            type="filepath",
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
                progress=_progress(progress),
            )
        return str(piece.wav), str(piece.png), str(piece.midi), piece.seed

    def show_controls(chosen):
        used = STRATEGY_CONTROLS.get(chosen, ALL_CONTROLS)
        return [gr.update(visible=name in used) for name in controls]

    strategy.change(
        show_controls, strategy, list(controls.values()), queue=False, api_visibility="private"
    )
    checkpoint.change(
        actions.default_temperature, checkpoint, temperature, queue=False,
        api_visibility="private",
    )
    button.click(
        generate,
        [checkpoint, strategy, temperature, beam_width, top_k, top_p, bars, seed, primer, *render],
        [audio, roll, midi, used_seed],
        api_name="generate",
        **LONG,
    ).then(_seed_note, used_seed, seed_note, queue=False, api_visibility="private")
    return checkpoint


def launch_kwargs(args: argparse.Namespace) -> dict:
    """What ``main`` passes to ``Blocks.launch``: the host (127.0.0.1 unless ``--host``),
    no public link unless ``--share``, the upload limit, and the playhead script inline
    (served by the app itself, no CDN)."""
    return dict(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=MAX_UPLOAD,
        allowed_paths=[str(ASSETS_DIR)],
        theme=gr.themes.Soft(),
        head=f"<script>{PLAYHEAD_JS.read_text()}</script>",
        prevent_thread_lock=True,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return _parser().parse_args(argv)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument(
        "--device", default=None, help="torch device (default: CUDA if available, else CPU)"
    )
    parser.add_argument(
        "--checkpoints", default=None, help="checkpoint folder (default: checkpoints/)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the small LSTMs gain nothing from more, "
        "and audio rendering needs the other core)",
    )
    parser.add_argument("--no-warm-up", action="store_true", help="load models on first use only")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)

    import torch

    from pianoplay.models.registry import Registry

    torch.set_num_threads(max(1, args.threads))
    try:
        registry = Registry(args.checkpoints, device=args.device)
    except PianoplayError as err:
        parser.error(str(err))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    demo = build_app(registry)
    # events outside the groups above run one at a time each; a flood of requests beyond
    # QUEUE_SIZE waiting is refused ("queue is full") instead of piling up in memory
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    demo.launch(**launch_kwargs(args))
    if not args.no_warm_up:
        threading.Thread(target=demo.actions.warm_up, daemon=True, name="warm-up").start()
    # a terminated server exits normally, so its output folder is deleted (atexit)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    demo.block_thread()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
