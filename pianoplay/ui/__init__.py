"""The library side of the browser app (``app.py`` only wires it to Gradio).

``actions`` holds one function per app action (sample, decode_latent,
interpolate, generate); each takes plain values, writes MIDI / WAV / PNG files
into a fresh output folder and returns their paths. ``outputs`` renders rolls
to those files; ``latent_map`` draws the 2-D map of a VAE's latent space.
Nothing here imports Gradio.
"""
