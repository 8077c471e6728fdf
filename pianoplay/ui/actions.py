"""What the app's buttons do, without Gradio: :class:`Actions` over a
:class:`~pianoplay.models.registry.Registry`, made of every tab's actions
(``pianoplay/ui/tabs/*.py``, class ``Actions``) on :class:`~pianoplay.ui.core.ActionsCore`.

    actions = Actions(Registry())
    pieces = actions.sample("vae-nottingham", 2, 16, 0.8, 1, 120, 0)
"""

from __future__ import annotations

from pianoplay.errors import PianoplayError
from pianoplay.ui.core import ActionsCore
from pianoplay.ui.tabs import TABS


class Actions(*(tab.Actions for tab in TABS), ActionsCore):
    """The app's actions over the checkpoints of ``registry`` (every tab's)."""

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
