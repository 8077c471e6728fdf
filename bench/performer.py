"""The performer against baselines on the piano-midi-de test split, and its speed.

    python bench/performer.py [--checkpoint performer-classical] [--split test]
        [--out bench/results/performer.json] [--latency-only] [--card]

Velocity (every note of every test piece): MAE and Pearson r, pooled and per piece, and the
spread (mean per-piece standard deviation) against the real spread. Baselines: every note
at the piece's own mean velocity (an oracle: it knows each piece's loudness), at the training
set's mean, and a rule (training-set least squares on melody / downbeat indicators: louder
in the top voice and on downbeats). "performer, piece level given" shifts the performer's
velocities to the piece's real mean, the oracle the piece-mean baseline has.

Pedal (every sixteenth step): frame F1 of down steps, F1 of pedal changes (within one step),
and the harmony-change rate (of the harmony changes the pedal comes into held, the share
where it is changed) beside the real performances' own rate. Baselines: no pedal, held
throughout (one press), changed at every bar line, changed at every harmony change.

Speed: median wall and CPU time of ``perform`` on 16-bar pieces (the first 16 bars of test pieces at
sixteenths and 120 bpm, as a 16-bar classical sample is written), and of ``render`` of the
same MIDI flat and performed (a file with pedal is rendered by one synth, not in chunks).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def velocity_rows(pieces, train, performer) -> dict:
    from pianoplay.models.performer.calibrate import raw_outputs, spread_velocities
    from pianoplay.models.performer.evaluate import velocity_metrics

    train_mean = float(np.concatenate([p.velocity for p in train]).mean())
    x = np.concatenate([np.stack([np.ones(len(p.top)), p.top, p.downbeat], 1) for p in train])
    y = np.concatenate([p.velocity for p in train]).astype(float)
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    model = [spread_velocities(raw_outputs(performer.model, p.notes, p.steps)[0],
                               performer.cfg.spread) for p in pieces]
    preds = {
        "piece mean (oracle level)": [np.full(len(p.velocity), p.velocity.mean()) for p in pieces],
        "training-set mean": [np.full(len(p.velocity), train_mean) for p in pieces],
        "rule: melody and downbeats": [coef[0] + coef[1] * p.top + coef[2] * p.downbeat
                                       for p in pieces],
        "performer": model,
        "performer, piece level given": [np.clip(m - m.mean() + p.velocity.mean(), 1, 127)
                                         for m, p in zip(model, pieces)],
    }
    out = {name: velocity_metrics(pieces, v) for name, v in preds.items()}
    out["rule: melody and downbeats"]["coefficients"] = [round(float(c), 2) for c in coef]
    return out


def pedal_rows(pieces, performer) -> dict:
    from pianoplay.models.performer.calibrate import BAR_LINE, raw_outputs
    from pianoplay.models.performer.evaluate import decode_pedal, pedal_metrics

    def held(p, changes):
        down = np.ones(len(p.down), dtype=bool)
        press = changes.copy()
        press[0] = True
        return down, press

    cfg = performer.cfg
    systems = {
        "real performance": [(p.down, p.press) for p in pieces],
        "no pedal (flat)": [(np.zeros(len(p.down), bool),) * 2 for p in pieces],
        "held throughout": [held(p, np.zeros(len(p.down), bool)) for p in pieces],
        "changed at every bar line": [held(p, p.steps[:, 10] > 0) for p in pieces],
        "changed at every harmony change": [held(p, p.harmony) for p in pieces],
    }
    outs = [raw_outputs(performer.model, p.notes, p.steps)[1:] for p in pieces]
    bars = [p.steps[:, BAR_LINE] > 0 if cfg.bar_changes else None for p in pieces]
    systems["performer, its own changes only"] = [
        decode_pedal(d, q, cfg.down_threshold, cfg.press_threshold) for d, q in outs]
    systems["performer"] = [decode_pedal(d, q, cfg.down_threshold, cfg.press_threshold, b)
                            for (d, q), b in zip(outs, bars)]
    return {name: pedal_metrics(pieces, peds) for name, peds in systems.items()}


def sixteen_bar_pieces(n: int) -> list:
    """The first 256 sixteenths (16 bars of 4/4) of ``n`` test pieces as a classical model
    writes them: a roll with onsets, one velocity, 120 bpm."""
    from pianoplay.models.performer.data import split_files
    from pianoplay.music.roll import load_roll, roll_to_midi

    out = []
    for path in split_files("test")[:n]:
        loaded = load_roll(str(path), steps_per_quarter=4, normalize_key=False, onsets=True)
        roll = loaded.roll[:256]  # 16 bars of 4/4 at sixteenths
        out.append(lambda r=roll: roll_to_midi(r, steps_per_quarter=4))
    return out


def latency(performer, n_pieces: int = 8, reps: int = 5) -> dict:
    from pianoplay.audio.synth import render
    from pianoplay.models.performer.play import perform
    from pianoplay.ui.outputs import EFFECTS, MONO, SAMPLE_RATE

    makers = sixteen_bar_pieces(n_pieces)
    perform_s, cpu_s, flat_s, played_s, notes = [], [], [], [], []
    for make in makers:
        for _ in range(reps):
            pm = make()
            t, c = time.perf_counter(), time.process_time()
            perform(pm, performer)
            perform_s.append(time.perf_counter() - t)
            cpu_s.append(time.process_time() - c)
        notes.append(sum(len(i.notes) for i in pm.instruments))
        render(make(), SAMPLE_RATE, effects=EFFECTS, mono=MONO)  # warm the synth pool
        for _ in range(reps):
            flat, played = make(), perform(make(), performer)
            t = time.perf_counter()
            render(flat, SAMPLE_RATE, effects=EFFECTS, mono=MONO)
            flat_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            render(played, SAMPLE_RATE, effects=EFFECTS, mono=MONO)
            played_s.append(time.perf_counter() - t)
    ms = lambda xs: round(1000 * statistics.median(xs), 1)  # noqa: E731
    return {"pieces": len(makers), "notes_per_piece_median": statistics.median(notes),
            "perform_ms_median": ms(perform_s), "perform_ms_max": round(1000 * max(perform_s), 1),
            "perform_cpu_ms_median": ms(cpu_s),
            "load_average_1min": round(os.getloadavg()[0], 2), "cpu_cores": os.cpu_count(),
            "render_flat_ms_median": ms(flat_s), "render_performed_ms_median": ms(played_s),
            "goal_ms": 30.0}


def main(argv=None) -> int:
    import torch

    from pianoplay.models.performer.data import load_split
    from pianoplay.models.performer.play import load_performer

    ap = argparse.ArgumentParser(description="performer vs baselines on piano-midi-de")
    ap.add_argument("--checkpoint", default="performer-classical")
    ap.add_argument("--split", default="test")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "performer")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "performer.json")
    ap.add_argument("--latency-only", action="store_true")
    ap.add_argument("--card", action="store_true",
                    help="write the checkpoint's README.md and its config.json metrics")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    performer = load_performer(args.checkpoint)
    result = {"checkpoint": args.checkpoint, "split": args.split,
              "machine": f"{platform.processor() or platform.machine()}, 1 torch thread"}
    if not args.latency_only:
        pieces = load_split(args.split, args.cache / f"cache-{args.split}.npz")
        train = load_split("train", args.cache / "cache-train.npz")
        result["pieces"] = len(pieces)
        result["notes"] = int(sum(len(p.velocity) for p in pieces))
        result["velocity"] = velocity_rows(pieces, train, performer)
        result["pedal"] = pedal_rows(pieces, performer)
        for name, m in result["velocity"].items():
            print(f"{name:32s} MAE {m['velocity_mae']:5.2f} (per piece "
                  f"{m['velocity_mae_per_piece']:5.2f})  r {m['velocity_r_pooled']:.3f} pooled "
                  f"{m['velocity_r_per_piece']:.3f} per piece  spread {m['velocity_spread']:5.2f}"
                  f" / real {m['real_velocity_spread']:.2f}")
        for name, m in result["pedal"].items():
            print(f"{name:32s} frame F1 {m['pedal_frame_f1']:.3f}  change F1 "
                  f"{m['pedal_change_f1']:.3f}  harmony-change rate "
                  f"{m['harmony_change_rate']:.3f}  down {m['pedal_down_share']:.2f}")
    result["latency"] = latency(performer)
    print(json.dumps(result["latency"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    if args.card and not args.latency_only:
        from pianoplay.models.checkpoint import write_config
        from pianoplay.models.performer.card import headline, write_card

        folder = Path(performer.folder)
        config = json.loads((folder / "config.json").read_text())
        config["metrics"] = headline(result)
        write_config(folder, config)
        print(f"wrote {write_card(folder, config, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
