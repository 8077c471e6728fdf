"""The model card (README.md) of a performer checkpoint, from its config and the bench's
results (``bench/performer.py --card``), and the headline numbers kept in config.json."""

from __future__ import annotations

import json
from pathlib import Path

VELOCITY_COLUMNS = (("velocity_mae", "MAE"), ("velocity_mae_per_piece", "MAE per piece"),
                    ("velocity_r_pooled", "r pooled"), ("velocity_r_per_piece", "r per piece"),
                    ("velocity_spread", "spread"))
PEDAL_COLUMNS = (("pedal_frame_f1", "frame F1"), ("pedal_change_f1", "change F1"),
                 ("harmony_change_rate", "changed at harmony changes"),
                 ("pedal_down_share", "down share"))


def headline(bench: dict) -> dict:
    """The numbers config.json keeps (the Model tab's card shows them)."""
    v, p = bench["velocity"]["performer"], bench["pedal"]["performer"]
    real = bench["pedal"]["real performance"]
    return {
        "test": {k: round(v[k], 4) for k, _ in VELOCITY_COLUMNS}
        | {"real_velocity_spread": round(v["real_velocity_spread"], 4)}
        | {k: round(p[k], 4) for k, _ in PEDAL_COLUMNS}
        | {"real_harmony_change_rate": round(real["harmony_change_rate"], 4),
           "pieces": bench["pieces"], "notes": bench["notes"]},
        "latency_ms": {"perform_16_bars": bench["latency"]["perform_ms_median"]},
        "protocol": "bench/performer.py on the piano-midi-de test split (metadata.csv)",
    }


def table(rows: dict, columns) -> list[str]:
    out = ["| | " + " | ".join(name for _, name in columns) + " |",
           "|---|" + "---:|" * len(columns)]
    for system, m in rows.items():
        cells = [f"{m[k]:.3f}" if isinstance(m.get(k), float) else str(m.get(k, "")) for k, _ in
                 columns]
        out.append(f"| {system} | " + " | ".join(cells) + " |")
    return out


def write_card(folder: str | Path, config: dict, bench: dict) -> Path:
    t, lat = config.get("training", {}), bench["latency"]
    real_spread = bench["velocity"]["performer"]["real_velocity_spread"]
    added = lat["perform_ms_median"] + lat["render_performed_ms_median"] - lat[
        "render_flat_ms_median"]
    lines = [
        f"# {config.get('name', Path(folder).name)}",
        "",
        "Family **performer**: plays a score. From the notes alone (onsets, durations, pitches)",
        "it sets every note's velocity and writes the sustain pedal (CC64), as the sequenced",
        "performances of piano-midi.de do. It is no generator: every piece the app and the CLI",
        "render goes through it (the app's *Rendering* option *Performed*, on by default; the",
        "API's `performed=True`; the CLI's `--flat` turns it off). The Nottingham models' pieces",
        "(melody and chords, played on the piano program by default) are performed by it too:",
        "it was trained on classical piano only, so a folk tune gets a classical pianist's",
        "dynamics and pedal. An uploaded file's own velocities and pedal are kept on its notes",
        "where an output holds them (Generate's primer; `pianoplay infill`).",
        "",
        f"## Measured on the test split ({bench['pieces']} pieces, {bench['notes']} notes)",
        "",
        "`python bench/performer.py --card` (results: `bench/results/performer.json`).",
        "",
        "### Velocity",
        "",
        *table(bench["velocity"], VELOCITY_COLUMNS),
        "",
        f"Real spread (mean per-piece standard deviation): {real_spread:.2f}. MAE in velocity",
        "units (1..127); r: Pearson correlation with the real velocities, over all notes",
        "(pooled) and the mean over pieces. The piece-mean baseline knows each piece's real",
        "mean loudness (an oracle); the performer does not. *Piece level given* shifts the",
        "performer's velocities to that same real mean.",
        "",
        "### Sustain pedal (per sixteenth step of the score)",
        "",
        *table(bench["pedal"], PEDAL_COLUMNS),
        "",
        "Frame F1 of the pedal-down steps; change F1: the pedal pressed (fresh or a change: up",
        "and down again) within one step of a real press; *changed at harmony changes*: of the",
        "harmony changes the pedal comes into held, the share where it is changed or lifted (the",
        "real performances' own rate is the reference: nearer is better). Half of the",
        "piano-midi-de files use no pedal at all; the performer learnt *how* to pedal from the",
        "pedalled half, so it pedals every piece.",
        "",
        "### Speed",
        "",
        f"`perform` on a 16-bar piece ({lat['notes_per_piece_median']:.0f} notes, the first",
        f"256 sixteenths of {lat['pieces']} test pieces): median {lat['perform_ms_median']} ms",
        f"(CPU {lat.get('perform_cpu_ms_median', '?')} ms), at most {lat['perform_ms_max']} ms.",
        "Rendering the same MIDI (22.05 kHz mono, the app's settings): flat",
        f"{lat['render_flat_ms_median']} ms, performed {lat['render_performed_ms_median']} ms",
        "(held by the pedal, more notes ring; files with pedal render in chunks too). So",
        f"performing adds about {added:.0f} ms to a 16-bar piece server side (goal: 30 ms).",
        f"Machine: {bench.get('machine', '?')}, {lat.get('cpu_cores', '?')} cores shared with",
        f"other work (load average {lat.get('load_average_1min', '?')}).",
        "",
        "## Training",
        "",
        f"Command: `{t.get('command', '?')}`",
        "",
        f"Stopped: {t.get('stopped', '?')} after {t.get('epochs', '?')} epochs "
        f"({t.get('minutes', '?')} min, one CPU thread on a shared 2-core machine); best "
        f"epochs {json.dumps(t.get('best_epoch', {}))} (each net is kept at its own best).",
        *([f"Note: {t['note']}."] if t.get("note") else []),
        "",
        "```json",
        json.dumps(t.get("config", {}), indent=1),
        "```",
        "",
        "## Model",
        "",
        "Two nets of dilated 1-D convolutions looking both ways along the score: one over the",
        "notes in onset order (velocity; features: pitch, duration, position in bar and beat,",
        "metre, chord size and rank, top voice / bass, register against the neighbourhood, a",
        "hand guess, onset density, tempo, place in the piece, intervals to the previous onset",
        "and in the top voice), one over sixteenth steps (pedal down, and a press or change;",
        "features: onsets, harmony change, new bass note and bass movement, sounding keys,",
        "metre, density, register). `spread` scales the velocity deviations; the pedal",
        "thresholds were chosen on the validation split.",
        "",
        "```json",
        json.dumps(config["model"], indent=1),
        "```",
        "",
        "Limits: velocity and pedal only (no timing or articulation); one sequencer's",
        "performances (piano-midi.de) of classical pieces; the score is read on a sixteenth",
        "grid.",
        "",
    ]
    path = Path(folder) / "README.md"
    path.write_text("\n".join(lines))
    return path
