"""The Model tab: pick a checkpoint, read its card, hear a short piece of it. The choice
moves to every tab that offers it (and only those); checkpoints that no tab serves are
listed below as benchmark rows, not offered to play."""

from __future__ import annotations

import gradio as gr

from pianoplay.errors import PianoplayError
from pianoplay.ui.core import ActionsCore, new_seed
from pianoplay.ui.outputs import Piece
from pianoplay.ui.page import INTERACTIVE, Page, first, or_skip, user_errors

TAB = None  # serves no family's tab: it shows them all
TITLE = "Model"
PREVIEW_BARS = 4  # the sample to listen to


class Actions(ActionsCore):
    def playable(self) -> list[str]:
        """Checkpoints some tab serves (the Model tab's picker)."""
        return [i.name for i in self.registry.list() if i.tabs]

    def benchmark_rows(self) -> str:
        """Markdown: the checkpoints no tab serves, each with why (kept for the benchmarks)."""
        rows = [i for i in self.registry.list() if not i.tabs]
        if not rows:
            return ""
        lines = ["**Benchmark checkpoints** (measured and listed, not offered to play):", ""]
        lines += ["| checkpoint | family | why not offered |", "|---|---|---|"]
        for info in rows:
            reasons = {info.refusal(tab) for tab in info.spec.tabs} or {"it serves no tab."}
            lines.append(f"| {info.name} | {info.family} | {' '.join(sorted(reasons))} |")
        return "\n".join(lines)

    def serves(self, name: str, titles: dict[str, str]) -> str:
        """Markdown: the tabs (by title) a checkpoint is offered in, and why not the others."""
        if not name:
            return ""
        info = self._info(name)
        served = [titles[t] for t in titles if t in info.tabs]
        lines = [f"**Offered in**: {', '.join(served) or 'no tab'}"]
        lines += [f"- not in {titles[t]}: {info.refusal(t)}" for t in titles if t not in info.tabs]
        return "\n".join(lines)

    def preview(self, name: str, tempo=120.0, program=0, performed=True) -> Piece:
        """Something of any playable checkpoint to listen to: a short sample
        (``PREVIEW_BARS`` bars), or, from a VAE not offered for sampling, a bundled tune as
        it gives it back (the Latent tab's start point of a random seed)."""
        tabs = self._info(name).tabs
        if "sample" in tabs:
            bars = min(PREVIEW_BARS, self.max_bars(name))
            return self.sample(name, 1, bars, self.default_temperature(name), -1, tempo, program,
                               performed=performed)[0]
        if "latent" in tabs:
            return self.decode_latent(name, new_seed(-1), {}, tempo, program,
                                      performed=performed)[0]
        if "generate" in tabs:
            return self.generate(name, bars=PREVIEW_BARS, tempo=tempo, program=program,
                                 performed=performed)
        raise PianoplayError(f"{name} is a benchmark checkpoint; no tab plays it.")


def build(page: Page) -> gr.Dropdown:
    actions = page.actions
    names = actions.playable()
    picker = gr.Dropdown(
        names,
        value=first(names),
        label="Checkpoint",
        info="The other tabs that offer this model switch to it.",
        elem_id="model-checkpoint",
    )
    serves = gr.Markdown(elem_id="model-serves")
    with gr.Row():
        listen = gr.Button("Listen: a short sample of this model", scale=0, min_width=260)
        preview = gr.Audio(
            label="Sample", type="filepath", interactive=False, elem_id="model-audio"
        )
    card = gr.Markdown(actions.model_card(first(names)) if names else "No checkpoints found.")
    gr.Markdown(actions.benchmark_rows(), elem_id="model-benchmarks")

    def show_card(name):
        with user_errors():
            return actions.model_card(name)

    def play_preview(name, tempo, program, performed=True):
        with user_errors():
            return str(actions.preview(name, tempo, program, performed).wav)

    picker.change(show_card, picker, card, api_visibility="private")
    picker.change(lambda: None, None, preview, queue=False, api_visibility="private")
    listen.click(
        play_preview, [picker, *page.render, page.shared["performed"]], preview,
        api_visibility="private", **INTERACTIVE,
    )
    page.shared["model"] = (picker, serves)
    return picker


def after(page: Page, titles: dict[str, str]) -> None:
    """Once every tab is built: choosing a model here selects it on every tab that offers
    it, leaves the others alone, and says which tabs those are."""
    picker, serves = page.shared["model"]
    targets = {tab: p for tab, p in page.pickers.items() if tab is not None}

    def follow(name):
        offered = page.actions.registry.info(name).tabs if name else ()
        pushed = [name if tab in offered else gr.skip() for tab in targets]
        return [page.actions.serves(name, titles), *pushed]

    picker.change(or_skip(follow, 1 + len(targets)), picker, [serves, *targets.values()],
                  queue=False,
                  api_visibility="private")
    page.loads.append(dict(fn=lambda name: page.actions.serves(name, titles), inputs=picker,
                           outputs=serves, queue=False))
