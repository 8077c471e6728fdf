"""The Personalise tab: upload 1-20 of your MIDI files and, in under a minute, get a
personal model that writes in their style (``pianoplay.models.latent_prior.personal``);
it then appears in the Sample, Latent sliders and Infill pickers. Personal models can be
deleted here.

API: ``/personalise`` (``files``, ``name``) returns the new model's name and its card
(Markdown); ``/delete_personal`` (``name``) returns what was done.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from pianoplay.errors import PianoplayError
from pianoplay.ui.core import ActionsCore, Progress
from pianoplay.ui.page import LONG, MIDI_TYPES, Page, user_errors

TAB = None  # serves no family's tab: it makes models for the others
TITLE = "Personalise"


def upload_path(item) -> Path:
    """A path from what Gradio or gradio_client hands over (a path, or a dict with one)."""
    if isinstance(item, dict):
        item = item.get("path") or item.get("name")
    if not item:
        raise PianoplayError("an uploaded file arrived without a path.")
    return Path(str(item))


class Actions(ActionsCore):
    def personalise(self, files, name: str, progress: Progress | None = None
                    ) -> tuple[str, str]:
        """Fit a personal prior on ``files`` (1-20 MIDI paths) named ``name``; returns its
        name and its card (Markdown)."""
        from pianoplay.models.latent_prior.personal import fit_personal

        if files is None or (isinstance(files, (str, dict))):
            files = [files] if files else []
        paths = [upload_path(f) for f in files]
        folder = fit_personal(paths, name, self.registry, progress=progress)
        return folder.name, self.model_card(folder.name)

    def personal_names(self) -> list[str]:
        """The user's own checkpoints."""
        return [n for n in self.registry.names() if self.registry.is_personal(n)]

    def delete_personal(self, name: str) -> str:
        from pianoplay.models.latent_prior.personal import delete_personal

        delete_personal(name, self.registry)
        return f"Deleted **{name}**."


def build(page: Page) -> None:
    actions = page.actions
    gr.Markdown(
        "Upload 1 to 20 of your MIDI files (2 MB each) and name the model: in under a minute "
        "your bars are kept as the VAE writes them and the latent prior learns to order "
        "them; the new model appears in **Sample**, **Latent sliders** (its pieces are the "
        "start points) and **Infill**. Its pieces are made of your bars in new orders, never "
        "four in a row as your files have them; more files give it more to go on."
    )
    with gr.Row():
        files = gr.File(label="Your MIDI files (1-20)", file_count="multiple",
                        file_types=MIDI_TYPES, type="filepath", elem_id="personalise-files")
        with gr.Column():
            name = gr.Textbox(label="Name", placeholder="my-style", max_lines=1,
                              info="lower-case letters, digits, - and _",
                              elem_id="personalise-name")
            button = gr.Button("Make my model", variant="primary",
                               elem_id="personalise-button")
    made = gr.Textbox(label="New model", interactive=False, elem_id="personalise-made")
    card = gr.Markdown(elem_id="personalise-card")
    with gr.Accordion("Delete one of your models", open=False):
        with gr.Row():
            mine = gr.Dropdown(actions.personal_names(), value=None, label="Your models",
                               allow_custom_value=True,  # the action refuses in its words
                               elem_id="personalise-mine")
            delete = gr.Button("Delete", variant="stop", scale=0, min_width=120,
                               elem_id="personalise-delete")
        deleted = gr.Markdown(elem_id="personalise-deleted")

    def personalise(files, name, progress=gr.Progress()):
        """Fit a personal model on `files` (1-20 MIDI files) called `name` (under a minute).
        Returns the new checkpoint's name and its card (Markdown)."""
        with user_errors():
            return actions.personalise(
                files, name, lambda f, what: progress(f, desc=what)
            )

    def delete_personal(name):
        """Delete your personal model `name`. Returns what was done (Markdown)."""
        with user_errors():
            return actions.delete_personal(name)

    def refresh_mine():
        return gr.update(choices=actions.personal_names(), value=None)

    fitted = button.click(personalise, [files, name], [made, card], api_name="personalise",
                          **LONG)
    removed = delete.click(delete_personal, mine, deleted, api_name="delete_personal",
                           **LONG)
    for event in (fitted, removed):
        event.then(refresh_mine, None, mine, queue=False, api_visibility="private")
    page.loads.append(dict(fn=refresh_mine, outputs=mine, queue=False))
    page.shared["personalise"] = (fitted, removed)


def after(page: Page, titles: dict[str, str]) -> None:
    """Once every tab is built: after a fit or a delete, every checkpoint picker lists the
    checkpoints its tab serves again (the new model appears, a deleted one goes)."""
    actions = page.actions
    pickers = {tab: p for tab, p in page.pickers.items() if tab is not None and p is not None}
    model = page.shared.get("model", (None,))[0]

    def refresh():
        out = [gr.update(choices=actions.names(tab)) for tab in pickers]
        if model is not None:
            out.append(gr.update(choices=actions.playable()))
        return out

    outputs = [*pickers.values(), *([model] if model is not None else [])]
    for event in page.shared["personalise"]:
        event.then(refresh, None, outputs, queue=False, api_visibility="private")
