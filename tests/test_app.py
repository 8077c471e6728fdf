"""End to end: ``app.py`` in a subprocess, driven through ``gradio_client`` with the
shipped checkpoints (``vae-faithful``, ``vae-nottingham``, ``chord-lstm-nottingham``).

Each action must return non-silent audio of the length its MIDI implies and a
MIDI file that pretty_midi reads with notes in it; bad input must come back as
a readable error, not a crash.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from PIL import Image
from scipy.io import wavfile

from pianoplay.paths import data_dir

pytestmark = pytest.mark.slow

VAE = "vae-faithful"  # the app's default for the Latent and Interpolate tabs
OLD_VAE = "vae-nottingham"  # eighth notes, one z per 16 bars: the benchmark-bound VAE
LM = "chord-lstm-nottingham"
TAIL_S = 1.0  # the renderer lets the last notes ring for one second
BAR_S = 2.0  # one 4/4 bar at 120 bpm


@pytest.fixture(scope="module")
def client(app):
    from gradio_client import Client

    return Client(app.url, verbose=False)


@pytest.fixture(scope="module")
def test_midis() -> list[Path]:
    files = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))
    assert len(files) >= 2, f"no Nottingham test MIDI files under {data_dir()}"
    return files[:2]


def check_audio(wav: str, midi: str, min_s: float, max_s: float) -> float:
    """The WAV is as long as its MIDI plus the tail, within [min_s, max_s], and not silent."""
    rate, audio = wavfile.read(wav)
    seconds = len(audio) / rate
    end = pretty_midi.PrettyMIDI(midi).get_end_time()
    assert seconds == pytest.approx(end + TAIL_S, abs=0.05)
    assert min_s <= seconds <= max_s
    assert np.abs(audio.astype(np.int32)).max() > 1000, "audio is silent"
    return seconds


def check_midi(path: str) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI(path)
    assert sum(len(i.notes) for i in pm.instruments) > 0, f"{path} has no notes"
    return pm


def check_png(path: str) -> None:
    with Image.open(path) as img:
        assert img.format == "PNG" and img.width > 50 and img.height > 50


def test_page_is_served(app):
    with urllib.request.urlopen(app.url) as response:
        assert response.status == 200
        assert "pianoplay" in response.read().decode()


def test_sample(client):
    """Both VAEs sample: the faithful one through its latent prior (in a style), the tight
    one from its own prior."""
    from gradio_client.exceptions import AppError

    wavs, midis, pngs = client.predict(VAE, 1, 16, 1.0, 1, 120, 0, style="nottingham",
                                       api_name="/sample")
    check_midi(midis[0])
    check_audio(wavs[0], midis[0], 8 * BAR_S, 16 * BAR_S + TAIL_S + 0.05)
    with pytest.raises(AppError, match="style must be one of nottingham, piano-midi-de"):
        client.predict(VAE, 1, 16, 1.0, 1, 120, 0, style="jazz", api_name="/sample")
    wavs, midis, pngs = client.predict(OLD_VAE, 2, 16, 1.0, 1, 120, 0, api_name="/sample")
    assert len(wavs) == len(midis) == len(pngs) == 2
    for wav, midi, png in zip(wavs, midis, pngs):
        check_midi(midi)
        check_audio(wav, midi, 8 * BAR_S, 16 * BAR_S + TAIL_S + 0.05)
        check_png(png)


def test_infill_keeps_the_unseen_file_outside_the_chosen_bars(client, test_midis):
    """/infill on a Nottingham test tune (never trained on): the whole piece comes back with
    bars 5-8 new, every other onset in place; another seed writes other bars."""
    from gradio_client import handle_file

    from pianoplay.models.registry import Registry
    from pianoplay.music.measures import grid_notes, onset_f1_in_place

    loaded = Registry().load(VAE).load(test_midis[1])
    a, b = loaded.bar_starts[4], loaded.bar_starts[8]
    outs = [client.predict(VAE, handle_file(str(test_midis[1])), bars="5-8", seed=seed,
                           style="nottingham", api_name="/infill") for seed in (1, 2)]
    wav, png, midi, summary = outs[0]
    assert "Bars 5-8" in summary and "every other note" in summary
    check_png(png)
    ours = grid_notes(midi, 4)
    assert onset_f1_in_place(ours, grid_notes(test_midis[1], 4), a, b) >= 0.98
    theirs = grid_notes(outs[1][2], 4)
    inside = lambda n: {tuple(x) for x in n[(n[:, 1] >= a) & (n[:, 1] < b)][:, :2]}  # noqa: E731
    assert inside(ours) and inside(ours) != inside(theirs)


def test_decode_latent_is_deterministic_and_moves(client):
    kwargs = dict(checkpoint=VAE, seed=3, tempo=120, program=0, api_name="/decode_latent")
    wav, roll, latent_map, midi = client.predict(**kwargs)
    check_midi(midi)
    check_audio(wav, midi, 8 * BAR_S, 16 * BAR_S + TAIL_S + 0.05)
    check_png(roll)
    check_png(latent_map)
    again = client.predict(**kwargs)[3]
    assert Path(again).read_bytes() == Path(midi).read_bytes(), "same sliders, different piece"
    moved = client.predict(**kwargs | {"axis_1": 2.5, "density": 1.5})[3]
    assert Path(moved).read_bytes() != Path(midi).read_bytes(), "sliders changed nothing"


def test_interpolate_two_nottingham_tunes(client, test_midis):
    """The path's first step is A given back (onset F1 > 0.9 against the uploaded file, in
    A's key) and its last is B; the page gets the comparison picture and the keys."""
    from gradio_client import handle_file

    from pianoplay.music.measures import onset_f1

    steps = 4
    wav, grid, files, summary, compare = client.predict(
        VAE,
        handle_file(test_midis[0]),
        handle_file(test_midis[1]),
        steps=steps,
        api_name="/interpolate",
    )
    step_midis, path_midi, path_wav = files[:steps], files[steps], files[steps + 1]
    assert len(files) == steps + 2 and path_wav.endswith(".wav")
    for midi in step_midis:
        check_midi(midi)
    check_midi(path_midi)
    # each step at its own length, one after the other (at most a beat, 0.5 s, between)
    seconds = check_audio(wav, path_midi, steps * 4 * BAR_S, steps * 16 * BAR_S + TAIL_S + 0.05)
    own = sum(pretty_midi.PrettyMIDI(m).get_end_time() for m in step_midis)
    assert own - 0.05 <= seconds - TAIL_S <= own + steps * 0.5, (seconds, own)
    assert Path(wav).read_bytes() == Path(path_wav).read_bytes()
    check_png(grid)
    check_png(compare)
    assert test_midis[0].name in summary and test_midis[1].name in summary and "bars" in summary
    assert "Keys" in summary
    first = onset_f1(Path(step_midis[0]).read_bytes(), str(test_midis[0]), max_transpose=0)
    last = onset_f1(Path(step_midis[-1]).read_bytes(), str(test_midis[1]), max_transpose=0)
    assert first["f1"] > 0.9 and last["f1"] > 0.9, (first, last)


def test_interpolation_paths_differ_between_the_ends(client, test_midis):
    """Both paths keep A and B at the ends; "bars" steps are bars of A then bars of B, so
    the middle step's notes match A's start and B's end; a one-code VAE refuses "bars"."""
    from gradio_client import handle_file

    ends = [handle_file(test_midis[0]), handle_file(test_midis[1])]
    out = {}
    for path in ("bars", "slerp"):
        _, _, files, summary, _ = client.predict(
            VAE, *ends, steps=3, path=path, api_name="/interpolate"
        )
        out[path] = [Path(f).read_bytes() for f in files[:3]]
        assert ("bar by bar" if path == "bars" else "slerp") in summary
    assert out["bars"][0] == out["slerp"][0] and out["bars"][2] == out["slerp"][2]
    assert out["bars"][1] != out["slerp"][1]
    with pytest.raises(Exception, match="slerp' only"):
        client.predict(
            "vae-nottingham", *ends, steps=3, temperature=0.75, path="bars", api_name="/interpolate"
        )


def test_latent_tab_starts_from_an_uploaded_file(client, test_midis):
    """Encode an upload, decode it unmoved: the user's notes come back in their key."""
    from gradio_client import handle_file

    from pianoplay.music.measures import onset_f1

    wav, roll, latent_map, midi = client.predict(
        checkpoint=VAE, midi=handle_file(test_midis[0]), api_name="/decode_latent"
    )
    check_midi(midi)
    check_png(roll)
    assert onset_f1(Path(midi).read_bytes(), str(test_midis[0]), max_transpose=0)["f1"] > 0.9


def test_old_vae_refuses_temperature_zero_with_a_reason(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="holds one chord.*temperature of 0.1 or more"):
        client.predict(checkpoint=OLD_VAE, temperature=0, api_name="/decode_latent")
    wav = client.predict(checkpoint=OLD_VAE, temperature=0.8, seed=2, api_name="/decode_latent")[0]
    assert wav


def test_beam_generation(client):
    wav, roll, midi = client.predict(
        LM, "beam", 1.0, 8, 20, 0.9, 16, 1, None, 120, 0, api_name="/generate"
    )
    check_midi(midi)
    check_audio(wav, midi, 4 * BAR_S, 16 * BAR_S + TAIL_S + 0.05)
    check_png(roll)


def test_corrupt_upload_is_a_clear_error(client, test_midis, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01garbage")
    refused = "broken.mid (is not a readable MIDI file|contains no notes)"
    with pytest.raises(AppError, match=refused):
        client.predict(
            VAE, handle_file(bad), handle_file(test_midis[0]), steps=4, api_name="/interpolate"
        )
    with pytest.raises(AppError, match=refused):
        client.predict(checkpoint=LM, primer=handle_file(bad), bars=2, api_name="/generate")


@pytest.mark.parametrize(
    "call, message",
    [
        (dict(checkpoint="no-such-model", api_name="/generate"), "no-such-model"),
        (dict(checkpoint=LM, api_name="/decode_latent"), f"{LM}.*(not in the list|not offered)"),
        (
            dict(checkpoint=VAE, tempo=500, api_name="/decode_latent"),
            r"Tempo \(bpm\) must be between 40 and 240, not 500",
        ),
        (
            dict(checkpoint=LM, strategy="beam", beam_width=2, bars=0, api_name="/generate"),
            "Bars must be between 1 and 64, not 0",
        ),
        (dict(checkpoint=LM, strategy="nucleus", api_name="/generate"), "nucleus"),
        (
            dict(checkpoint=OLD_VAE, bars=32, api_name="/sample"),
            "Bars must be between 1 and 16, not 32",
        ),
    ],
)
def test_bad_input_is_a_clear_error(client, call, message):
    from gradio_client.exceptions import AppError

    with pytest.raises((AppError, ValueError), match=message):
        client.predict(**call)
    # and the app still answers
    assert client.predict(checkpoint=VAE, seed=1, api_name="/decode_latent")[0]


def test_sample_draws_a_fresh_seed_and_names_it(client):
    """Seed -1 (the default): each click a new piece; the seed is in the file names, and
    asking for that seed makes the same piece again."""
    first = client.predict(checkpoint=OLD_VAE, count=1, bars=2, api_name="/sample")[1][0]
    second = client.predict(checkpoint=OLD_VAE, count=1, bars=2, api_name="/sample")[1][0]
    seeds = [int(re.search(r"_seed(\d+)\.mid$", m).group(1)) for m in (first, second)]
    assert seeds[0] != seeds[1]
    assert Path(first).read_bytes() != Path(second).read_bytes()
    again = client.predict(checkpoint=OLD_VAE, count=1, bars=2, seed=seeds[0], api_name="/sample")
    assert Path(again[1][0]).read_bytes() == Path(first).read_bytes()
    midi = client.predict(checkpoint=LM, strategy="sample", bars=2, api_name="/generate")[2]
    assert re.search(r"_seed\d+\.mid$", midi)


def test_a_refused_request_logs_one_line(app, client):
    from gradio_client.exceptions import AppError

    before = app.log.stat().st_size
    with pytest.raises(AppError, match="Bars must be between 1 and 16, not 32"):
        client.predict(checkpoint=OLD_VAE, bars=32, api_name="/sample")
    with open(app.log, "rb") as log:
        log.seek(before)
        new = log.read().decode(errors="replace")
    assert "Traceback" not in new
    assert [line for line in new.splitlines() if "Bars must be" in line] == [
        line for line in new.splitlines() if "refused" in line
    ] and "refused: Bars must be between 1 and 16, not 32" in new


def test_page_config_rolls_unlabelled_strategy_controls_model_card(app):
    """Roll pictures carry their titles themselves (no label badge over them); the Generate
    tab starts on top-p, so beam width and top-k are hidden; the model card names its
    numbers in words, with units."""
    import json

    with urllib.request.urlopen(app.url + "config") as response:
        components = json.load(response)["components"]
    props = {c["props"].get("elem_id"): c["props"] for c in components if "props" in c}
    rolls = [p for p in props.values() if "pp-roll" in (p.get("elem_classes") or [])]
    assert len(rolls) >= 6 and all(p["show_label"] is False for p in rolls)
    assert props["generate-top-p"]["visible"] and props["generate-temperature"]["visible"]
    assert not props["generate-beam-width"]["visible"] and not props["generate-top-k"]["visible"]
    card = next(c["props"]["value"] for c in components
                if c["type"] == "markdown" and "**Trained on**" in str(c["props"].get("value")))
    table = card.split("\n---\n")[0]
    assert "nats per" in table and "_per_" not in table, table  # readable names with units


def test_output_names_never_come_from_upload_names(client, test_midis, tmp_path):
    import shutil

    from gradio_client import handle_file

    odd = tmp_path / "<img src=x onerror=alert(1)> `[a](x)`.mid"
    shutil.copy(test_midis[0], odd)
    out = client.predict(
        OLD_VAE, handle_file(odd), handle_file(test_midis[1]), steps=2, temperature=0.8,
        api_name="/interpolate",
    )
    names = [Path(p).name for p in [out[0], out[1], *out[2], out[4]]]
    assert all(re.fullmatch(r"(step_\d\d|path)\.(mid|wav)|rolls\.png|compare\.png", n)
               for n in names), names
    # the name is shown as code (Gradio already drops <, > and backticks from it)
    assert "<img" not in out[3] and re.search(r"\*\*A\*\* \(`[^`]*\[a\]\(x\)\.mid`\)", out[3])


def test_uploads_over_the_limit_are_refused(client, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + bytes(3 * 1024 * 1024))
    with pytest.raises(Exception, match="(?i)too large|413|exceeds|size"):
        client.predict(checkpoint=LM, primer=handle_file(big), bars=2, api_name="/generate")
    assert client.predict(checkpoint=LM, bars=1, seed=1, api_name="/generate")[0]


def test_out_of_range_api_values_get_the_apps_own_answer(app, client):
    """Through the API, values the page's controls cannot make (seed -5, tempo 5000, bars
    999, an unknown checkpoint) reach the app's own checks: a clamp it notes, or its
    one-line refusal; never Gradio's range or choice errors, never a traceback."""
    from gradio_client.exceptions import AppError

    before = app.log.stat().st_size
    wav = client.predict(checkpoint=OLD_VAE, count=1, bars=2, temperature=0.75, tempo=5000,
                         api_name="/sample")[0][0]
    assert wav  # played at 240 bpm (the page notes it beside the seed)
    midi = client.predict(checkpoint=LM, strategy="sample", bars=1, seed=-5, tempo=5000,
                          api_name="/generate")[2]
    assert re.search(r"_seed\d+\.mid$", midi)  # a negative seed: a new random one
    refusals = [
        (dict(checkpoint=OLD_VAE, count=1, bars=999, temperature=0.75, api_name="/sample"),
         "Bars must be between 1 and 16, not 999"),
        (dict(checkpoint="no-such-model", api_name="/decode_latent"), "unknown checkpoint"),
        (dict(checkpoint=VAE, seed=-5, api_name="/decode_latent"), "Start seed must be"),
        (dict(checkpoint=LM, strategy="sample", bars=999, api_name="/generate"),
         "Bars must be between 1 and 64, not 999"),
    ]
    for call, message in refusals:
        with pytest.raises(AppError, match=message):
            client.predict(**call)
    with open(app.log, "rb") as log:
        log.seek(before)
        new = log.read().decode(errors="replace")
    assert "Traceback" not in new, new
    assert "maximum value" not in new and "not in the list of choices" not in new, new
