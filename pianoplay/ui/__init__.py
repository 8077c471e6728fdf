"""The browser app's library side (``app.py`` only wires the tabs into a page).

``tabs/`` holds one module per tab (its layout, callbacks and the action behind them; see
:mod:`pianoplay.ui.tabs` for the API); ``core`` the Gradio-free part every tab's actions
share; ``actions`` combines every tab's actions into ``Actions`` (what the tests, benches
and warm-up call); ``page`` what the tabs share on the page; ``outputs`` renders rolls to
MIDI / WAV / PNG files; ``latent_map`` draws a VAE's latent map; ``model_card`` the Model
tab's card; ``server`` starts ``app.py`` for tests and benches.
"""
