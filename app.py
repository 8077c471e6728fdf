"""pianoplay in the browser: sample, steer, interpolate and generate piano music.

    python app.py                      # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8000 --device cpu

This file only wires the tabs (``pianoplay/ui/tabs/``, one file each: layout, callbacks and
the action behind them) into one page and serves it. API endpoints (``gradio_client``):
``/sample``, ``/decode_latent``, ``/interpolate``, ``/generate``; see the README.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

import gradio as gr
from gradio.utils import get_upload_folder

from pianoplay import defaults
from pianoplay.errors import PianoplayError
from pianoplay.paths import ASSETS_DIR
from pianoplay.ui.actions import Actions
from pianoplay.ui.inputs import open_dropdown, open_slider
from pianoplay.ui.outputs import Outputs
from pianoplay.ui.page import Page
from pianoplay.ui.tabs import TABS

MAX_UPLOAD = "2mb"
QUEUE_SIZE = 200
PLAYHEAD_JS = ASSETS_DIR / "playhead.js"


def _programs() -> list[tuple[str, int]]:
    import pretty_midi

    return [(f"{p} {pretty_midi.program_to_instrument_name(p)}", p) for p in range(128)]


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
            # the actions check both (a tempo outside is played at the nearest end, noted)
            tempo = open_slider(*defaults.TEMPO_RANGE, value=defaults.TEMPO, step=1,
                                label="Tempo (bpm)", elem_id="tempo")
            program = open_dropdown(
                _programs(), value=defaults.PROGRAM, label="Instrument (General MIDI program)"
            )
            performed = gr.Checkbox(
                value=True, label="Performed",
                info="dynamics and sustain pedal from the performer (off: flat, one velocity)",
            )
        page = Page(actions, [tempo, program])
        # Rendering: performed (velocities and pedal) or flat; a tab adds it to its inputs last
        page.shared["performed"] = performed
        with gr.Tabs():
            for tab in TABS:
                with gr.Tab(tab.TITLE):
                    page.pickers[tab.TAB] = tab.build(page)
        titles = {tab.TAB: tab.TITLE for tab in TABS if tab.TAB is not None}
        for tab in TABS:
            if hasattr(tab, "after"):
                tab.after(page, titles)
        for load in page.loads:  # a tuple: steps run one after another
            steps = load if isinstance(load, tuple) else (load,)
            event = demo.load(**steps[0], api_visibility="private")
            for step in steps[1:]:
                event = event.then(**step, api_visibility="private")
    return demo


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
    parser.add_argument(
        "--personal-dir", default=None,
        help="folder of personal models (default: $PIANOPLAY_PERSONAL, else "
        "~/.cache/pianoplay/personal)",
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
        registry = Registry(args.checkpoints, device=args.device, personal=args.personal_dir)
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
