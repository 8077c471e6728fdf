"""The app's tabs, one file each: its layout, its callbacks and the action behind them.

A tab module defines

- ``TAB``: the id its checkpoint picker serves (a name in ``FamilySpec.tabs``: "sample",
  "latent", "interpolate", "generate"...), or None (the Model tab);
- ``TITLE``: the tab's label;
- ``Actions``: a subclass of :class:`pianoplay.ui.core.ActionsCore` holding the tab's
  actions, plain methods without Gradio (``pianoplay.ui.actions.Actions`` combines them);
- ``build(page: pianoplay.ui.page.Page)``: lays the tab out (``app.py`` has opened
  ``gr.Tab(TITLE)``) and wires its callbacks; returns its checkpoint picker (a Dropdown
  listing ``page.actions.names(TAB)``, i.e. exactly the checkpoints that serve it, with
  ``elem_id=f"{TAB}-checkpoint"``) or None;
  what must run when the page opens goes into ``page.loads``;
- optionally ``after(page, titles)``: runs once every tab is built (the Model tab wires
  its picker to the others' there).

A new tab is a new module here and one line in :data:`TABS`.
"""

from pianoplay.ui.tabs import generate, infill, interpolate, latent, model, personalise, sample

# in the order the page shows them
TABS = (model, sample, latent, interpolate, infill, generate, personalise)
