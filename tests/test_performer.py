"""The performer: a tiny one trains and plays; the shipped one plays generated rolls; the pedal
it writes is well formed; the bench's measures count what they say."""

from __future__ import annotations

import json

import numpy as np
import pretty_midi
import pytest

from pianoplay.config_io import ConfigError
from pianoplay.models.performer.data import split_files
from pianoplay.models.performer.evaluate import change_counts, decode_pedal, harmony_counts
from pianoplay.models.performer.model import PerformerConfig
from pianoplay.models.performer.play import has_expression, load_performer, perform
from pianoplay.music.roll import load_roll, roll_to_midi

TINY = {"model": {"hidden": 8, "blocks": 2}, "iters": 2, "max_epochs": 1, "limit": 2,
        "batch": 2, "crop": 64}


def check_pedal(pm: pretty_midi.PrettyMIDI) -> int:
    """Every instrument's CC64 alternates down, up, ..., ends up, inside the piece; returns
    the number of presses."""
    end = max(n.end for i in pm.instruments for n in i.notes)
    presses = None
    for inst in pm.instruments:
        cc = [c for c in inst.control_changes if c.number == 64]
        values = [c.value >= 64 for c in cc]
        assert values == [True, False] * (len(cc) // 2), "pedal downs and ups do not alternate"
        times = [c.time for c in cc]
        assert times == sorted(times)
        assert all(0 <= t <= end + 1e-9 for t in times), "pedal event outside the piece"
        assert presses in (None, len(cc) // 2), "instruments got different pedals"
        presses = len(cc) // 2
    return presses or 0


def check_velocities(pm: pretty_midi.PrettyMIDI) -> set[int]:
    vels = {n.velocity for i in pm.instruments for n in i.notes}
    assert all(1 <= v <= 127 for v in vels)
    return vels


def quarter_of(pm: pretty_midi.PrettyMIDI):
    """n -> the quarter note where note ``n`` starts in ``pm`` (by its own tempo map)."""
    from pianoplay.models.performer.features import seconds_to_quarters

    return lambda n: float(seconds_to_quarters(pm, np.array([n.start]))[0])


def velocities_at(source: pretty_midi.PrettyMIDI) -> dict[tuple[int, int], int]:
    """(key, sixteenth) -> velocity of each note of ``source``."""
    at = quarter_of(source)
    return {(n.pitch, round(at(n) * 4)): n.velocity for i in source.instruments for n in i.notes}


def kept_share(notes, out: pretty_midi.PrettyMIDI, source: pretty_midi.PrettyMIDI) -> float:
    """Share of ``notes`` (of ``out``) that have the velocity of the note of ``source`` on
    the same key at the same sixteenth."""
    own, at = velocities_at(source), quarter_of(out)
    return float(np.mean([own.get((n.pitch, round(at(n) * 4))) == n.velocity for n in notes]))


def sixteen_bars(path, steps_per_quarter: int = 4) -> pretty_midi.PrettyMIDI:
    """The first 16 bars of 4/4 of a file as a model writes a roll: one velocity, no pedal."""
    loaded = load_roll(str(path), steps_per_quarter=steps_per_quarter, normalize_key=False)
    return roll_to_midi(loaded.roll[: 16 * 4 * steps_per_quarter],
                        steps_per_quarter=steps_per_quarter)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from pianoplay.models.performer.train import PerformerTrainConfig, train

    out = tmp_path_factory.mktemp("performer") / "tiny"
    config = train(PerformerTrainConfig.from_dict(TINY), out)
    return out, config


def test_tiny_performer_trains_and_performs(tiny):
    out, config = tiny
    assert config["family"] == "performer"
    assert (out / "model.safetensors").is_file() and json.loads((out / "config.json").read_text())
    cfg = PerformerConfig.from_dict(config["model"])
    assert cfg.spread >= 1.0 and 0 < cfg.down_threshold < 1 and 0 < cfg.press_threshold < 1
    performer = load_performer(out)
    pm = sixteen_bars(split_files("test")[0])
    assert len(check_velocities(pm)) == 1
    n_notes = sum(len(i.notes) for i in pm.instruments)
    perform(pm, performer)
    check_velocities(pm)
    check_pedal(pm)
    assert sum(len(i.notes) for i in pm.instruments) == n_notes


def test_training_resumes_where_it_stopped(tmp_path):
    from pianoplay.models.performer.train import PerformerTrainConfig, train

    cfg = PerformerTrainConfig.from_dict({**TINY, "max_epochs": 1})
    train(cfg, tmp_path / "p")
    again = train(PerformerTrainConfig.from_dict({**TINY, "max_epochs": 2}), tmp_path / "p",
                  resume=True)
    assert again["training"]["epochs"] == 2
    history = json.loads((tmp_path / "p" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]


def test_shipped_performer_plays_a_generated_roll():
    """A Nottingham-style roll (eighth notes, melody over held chords) gets dynamics and
    pedal from the classical performer; so does a multi-instrument file."""
    performer = load_performer()
    from pianoplay.paths import data_dir

    tune = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[0]
    pm = sixteen_bars(tune, steps_per_quarter=2)
    perform(pm, performer)
    assert len(check_velocities(pm)) > 1
    assert check_pedal(pm) > 0
    real = pretty_midi.PrettyMIDI(str(split_files("test")[0]))  # two hands, own expression
    for inst in real.instruments:
        inst.control_changes = []
        for n in inst.notes:
            n.velocity = 64
    perform(real, performer)
    assert len(check_velocities(real)) > 1
    assert check_pedal(real) > 0


def test_keep_own_keeps_a_files_expression():
    performer = load_performer()
    pm = pretty_midi.PrettyMIDI(str(split_files("test")[1]))
    before = [(n.velocity, n.start) for i in pm.instruments for n in i.notes]
    pedal = [(c.time, c.value) for i in pm.instruments for c in i.control_changes]
    assert has_expression(pm) == (True, True)
    perform(pm, performer, keep_own=True)
    assert [(n.velocity, n.start) for i in pm.instruments for n in i.notes] == before
    assert [(c.time, c.value) for i in pm.instruments for c in i.control_changes] == pedal
    flat = sixteen_bars(split_files("test")[1])
    perform(flat, performer, keep_own=True)  # one velocity, no pedal: performed
    assert len(check_velocities(flat)) > 1 and check_pedal(flat) > 0


def test_empty_and_one_note_pieces():
    performer = load_performer()
    empty = pretty_midi.PrettyMIDI()
    assert perform(empty, performer) is empty
    pm = roll_to_midi(np.pad(np.ones((3, 1), np.uint8), ((0, 0), (39, 48))))
    perform(pm, performer)
    check_velocities(pm)
    check_pedal(pm)


def test_config_refuses_unknown_keys_and_archs():
    with pytest.raises(ConfigError, match="hiden"):
        PerformerConfig.from_dict({"hiden": 3})
    with pytest.raises(ConfigError, match="arch"):
        PerformerConfig.from_dict({"arch": "transformer"})
    from pianoplay.models.performer.train import PerformerTrainConfig

    with pytest.raises(ConfigError, match="epochz"):
        PerformerTrainConfig.from_dict({"epochz": 3})


def test_pedal_measures():
    down, press = decode_pedal(np.array([0.1, 0.9, 0.9, 0.9, 0.2, 0.9]),
                               np.array([0.0, 0.0, 0.1, 0.8, 0.0, 0.0]))
    assert down.tolist() == [False, True, True, True, False, True]
    assert press.tolist() == [False, True, False, True, False, True]  # run starts and a change
    assert change_counts(press, np.array([0, 0, 1, 0, 0, 0], bool)) == (1, 3, 1)
    bars = np.array([0, 0, 1, 0, 0, 0], bool)  # held over a bar line: changed there too
    _, at_bars = decode_pedal(np.array([0.1, 0.9, 0.9, 0.9, 0.2, 0.9]),
                              np.array([0.0, 0.0, 0.1, 0.8, 0.0, 0.0]), bars=bars)
    assert at_bars.tolist() == [False, True, False, True, False, True]  # 2 and 3: one stays
    harmony = np.array([0, 0, 0, 1, 0, 0], bool)
    assert harmony_counts(down, press, harmony) == (1, 1)
    assert harmony_counts(down, np.zeros(6, bool), harmony) == (0, 1)


def test_keep_from_gives_the_users_notes_their_expression():
    """A continuation of a user's primer: the primer's notes keep the user's velocities and
    pedal; what the model added is performed; the pedal stays well formed."""
    from pianoplay.models.performer.play import keep_from

    performer = load_performer()
    source = pretty_midi.PrettyMIDI(str(split_files("test")[1]))
    primer_q = 16.0  # the first 4 bars of 4/4
    out = sixteen_bars(split_files("test")[1])  # the same notes, flat, at another tempo
    perform(out, performer)
    matched = keep_from(out, source, primer_q)
    assert matched > 10
    check_velocities(out)
    check_pedal(out)
    q = quarter_of(out)
    early = [n for n in out.instruments[0].notes if q(n) < primer_q]
    assert early and kept_share(early, out, source) >= 0.9


def _envelope(audio: np.ndarray, window: int = 1024) -> np.ndarray:
    x = audio.astype(np.float64).reshape(len(audio), -1)[:, 0]
    m = len(x) // window * window
    return np.sqrt((x[:m].reshape(-1, window) ** 2).mean(axis=1))


@pytest.mark.parametrize("which", ["held", "performed", "real"])
def test_pedalled_pieces_render_in_chunks_like_one_synth(which):
    """A file with pedal renders on several synths side by side (the performer must not
    slow the app's audio down) and sounds like one synth: the chunks start early enough for
    the notes the pedal holds."""
    from pianoplay.audio.synth import render

    if which == "held":  # an organ chord the pedal holds for 14 s: longer than any overlap
        pm = pretty_midi.PrettyMIDI()
        organ = pretty_midi.Instrument(program=19)
        organ.notes = [pretty_midi.Note(90, p, 0.0, 0.2) for p in (60, 64, 67)]
        organ.notes.append(pretty_midi.Note(90, 72, 20.0, 30.0))
        organ.control_changes = [pretty_midi.ControlChange(64, 127, 0.1),
                                 pretty_midi.ControlChange(64, 0, 14.0)]
        pm.instruments.append(organ)
    elif which == "performed":
        pm = perform(sixteen_bars(split_files("test")[2]), load_performer())
    else:  # the real file's own pedal, its first 40 s
        pm = pretty_midi.PrettyMIDI(str(split_files("test")[5]))
        for inst in pm.instruments:
            inst.notes = [n for n in inst.notes if n.end < 40]
            inst.control_changes = [c for c in inst.control_changes if c.time < 40]
    assert any(c.number == 64 for i in pm.instruments for c in i.control_changes)
    one = render(pm, 22050, effects=False, workers=1)
    chunked = render(pm, 22050, effects=False, workers=3)
    assert chunked.shape == one.shape
    a, b = _envelope(one), _envelope(chunked)
    assert np.abs(a - b).mean() / a.mean() < 0.01
    assert np.abs(a - b).max() / a.max() < 0.1


@pytest.mark.slow
def test_the_api_renders_performed_by_default_and_flat_on_request(app):
    """Through the API: a sampled piece's MIDI has more than one velocity and pedal events;
    with performed=False one velocity and no pedal."""
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    kwargs = dict(checkpoint="vae-nottingham", count=1, bars=8, seed=3, temperature=0.8,
                  style="", api_name="/sample")  # style: a latent prior's; none here
    performed = pretty_midi.PrettyMIDI(client.predict(**kwargs)[1][0])
    assert len(check_velocities(performed)) > 1
    assert check_pedal(performed) > 0
    flat = pretty_midi.PrettyMIDI(client.predict(performed=False, **kwargs)[1][0])
    assert len(check_velocities(flat)) == 1
    assert check_pedal(flat) == 0
    assert [n.pitch for n in flat.instruments[0].notes] == [
        n.pitch for n in performed.instruments[0].notes]
    lm = dict(checkpoint="chord-lstm-nottingham", strategy="sample", temperature=1.0, bars=4,
              seed=1, api_name="/generate")
    generated = pretty_midi.PrettyMIDI(client.predict(**lm)[2])
    assert len(check_velocities(generated)) > 1
    flat = pretty_midi.PrettyMIDI(client.predict(performed=False, **lm)[2])
    assert len(check_velocities(flat)) == 1


def test_cli_performs_unless_flat(tmp_path):
    from pianoplay.cli import main

    common = ["--checkpoint", "vae-nottingham", "-n", "1", "--bars", "4", "--seed", "1",
              "--no-audio"]
    assert main(["sample", *common, "--out", str(tmp_path / "p")]) == 0
    performed = pretty_midi.PrettyMIDI(str(tmp_path / "p" / "sample_1.mid"))
    assert len(check_velocities(performed)) > 1 and check_pedal(performed) > 0
    assert main(["sample", *common, "--flat", "--out", str(tmp_path / "f")]) == 0
    flat = pretty_midi.PrettyMIDI(str(tmp_path / "f" / "sample_1.mid"))
    assert len(check_velocities(flat)) == 1 and check_pedal(flat) == 0


def test_cli_generate_keeps_a_primers_expression(tmp_path):
    """A continuation of a piano-midi-de file: the primer's notes keep the file's velocities,
    the continuation is performed."""
    from pianoplay.cli import main

    primer = split_files("test")[1]
    args = ["generate", "--checkpoint", "chord-lstm-classical", "-n", "1", "--bars", "6",
            "--seed", "1", "--strategy", "sample", "--primer", str(primer), "--primer-bars",
            "2", "--no-audio"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    out = pretty_midi.PrettyMIDI(str(next(tmp_path.glob("*.mid"))))
    check_velocities(out)
    check_pedal(out)
    source = pretty_midi.PrettyMIDI(str(primer))
    q = quarter_of(out)
    sig = source.time_signature_changes[0]
    early = [n for n in out.instruments[0].notes
             if q(n) < 2 * sig.numerator * 4 / sig.denominator]  # 2 bars
    assert early and kept_share(early, out, source) > 0.8


@pytest.mark.slow
def test_the_api_keeps_a_primers_expression(app):
    """Generate continuing a piano-midi-de file: the primer's notes keep its velocities."""
    from gradio_client import Client, handle_file

    from pianoplay.limits import PRIMER_BARS

    primer = split_files("test")[1]
    client = Client(app.url, verbose=False)
    out = pretty_midi.PrettyMIDI(client.predict(
        checkpoint="chord-lstm-classical", strategy="sample", temperature=0.9,
        bars=PRIMER_BARS + 2, seed=1, primer=handle_file(str(primer)), api_name="/generate")[2])
    check_velocities(out)
    check_pedal(out)
    source = pretty_midi.PrettyMIDI(str(primer))
    sig = source.time_signature_changes[0]
    end = PRIMER_BARS * sig.numerator * 4 / sig.denominator
    q = quarter_of(out)
    early = [n for n in out.instruments[0].notes if q(n) < end]
    assert early and kept_share(early, out, source) > 0.8


def test_keep_from_around_new_bars():
    """An infill: the user's notes before and after the new bars keep the file's velocities
    and pedal, the new bars are performed, and the pedal stays well formed."""
    from pianoplay.models.performer.play import keep_from

    source = pretty_midi.PrettyMIDI(str(split_files("test")[5]))  # chpn-p2: with pedal
    out = perform(sixteen_bars(split_files("test")[5]), load_performer())
    performed = {(n.pitch, n.start): n.velocity for n in out.instruments[0].notes}
    keep_from(out, source, 8.0, resume_quarters=16.0)
    check_velocities(out)
    check_pedal(out)
    q = quarter_of(out)
    notes = out.instruments[0].notes
    outside = [n for n in notes if not 8.0 <= q(n) < 16.0]
    inside = [n for n in notes if 8.0 <= q(n) < 16.0]
    assert kept_share(outside, out, source) > 0.9
    assert all(performed[(n.pitch, n.start)] == n.velocity for n in inside)
    cc = [c for c in out.instruments[0].control_changes if c.number == 64]
    src_cc = [c for i in source.instruments for c in i.control_changes if c.number == 64]
    assert cc and src_cc


@pytest.mark.slow
def test_the_api_infill_keeps_the_files_expression_around_the_new_bars(app):
    from gradio_client import Client, handle_file

    tune = split_files("test")[8]  # deb_pass: dynamics and pedal of its own
    client = Client(app.url, verbose=False)
    wav, roll, midi, summary = client.predict(checkpoint="vae-faithful", midi=handle_file(
        str(tune)), bars="3-4", seed=1, style="", api_name="/infill")
    out = pretty_midi.PrettyMIDI(midi)
    check_velocities(out)
    check_pedal(out)
    source = pretty_midi.PrettyMIDI(str(tune))
    sig = source.time_signature_changes[0]
    bar = sig.numerator * 4 / sig.denominator
    q = quarter_of(out)
    before = [n for i in out.instruments for n in i.notes if q(n) < 2 * bar]
    after = [n for i in out.instruments for n in i.notes if 5 * bar <= q(n) < 10 * bar]
    for notes in (before, after):
        assert notes and kept_share(notes, out, source) > 0.8


@pytest.mark.slow
def test_the_api_latent_start_from_a_file_keeps_its_expression(app):
    """The faithful VAE gives an uploaded file back: its notes keep the file's velocities."""
    from gradio_client import Client, handle_file

    tune = split_files("test")[8]
    client = Client(app.url, verbose=False)
    midi = client.predict(checkpoint="vae-faithful", midi=handle_file(str(tune)),
                          api_name="/decode_latent")[3]
    out = pretty_midi.PrettyMIDI(midi)
    check_velocities(out)
    check_pedal(out)
    source = pretty_midi.PrettyMIDI(str(tune))
    own, q = velocities_at(source), quarter_of(out)
    notes = [n for i in out.instruments for n in i.notes]
    # the window's first bar in the file: find the shift that matches most notes
    steps = [(n.pitch, round(q(n) * 4)) for n in notes]
    last = max(s for _, s in own)
    shift = max(range(0, last, 4), key=lambda k: sum((p, s + k) in own for p, s in steps))
    assert sum((p, s + shift) in own for p, s in steps) > 0.8 * len(notes)
    kept = [own.get((p, s + shift)) == n.velocity for (p, s), n in zip(steps, notes)
            if (p, s + shift) in own]
    assert np.mean(kept) > 0.9


def test_cli_train_performer_and_calibrate(tmp_path, capsys):
    """``pianoplay train performer`` writes a checkpoint that the registry reads as a
    performer serving no tab; ``python -m pianoplay.models.performer.calibrate`` re-tunes it."""
    from pianoplay.cli import main
    from pianoplay.models.performer.calibrate import main as calibrate_main
    from pianoplay.models.registry import Registry

    out = tmp_path / "ckpts" / "tiny-performer"
    assert main(["train", "performer", "--out", str(out), "--config", json.dumps(TINY),
                 "--cache", ""]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["command"].startswith("pianoplay train performer --out")
    info = Registry(tmp_path / "ckpts", device="cpu").info("tiny-performer")
    assert info.family == "performer" and not info.tabs
    assert calibrate_main([str(out), "--cache", ""]) == 0
    assert "calibrated" in json.loads((out / "config.json").read_text())["training"]
    assert main(["train", "performer", "--out", str(out), "--config", '{"epochz": 1}']) == 2
    assert "epochz" in capsys.readouterr().err
