"""Choose a trained performer's velocity spread and pedal thresholds on validation pieces."""

from __future__ import annotations

import numpy as np
import torch

from pianoplay.models.performer.evaluate import decode_pedal, pedal_metrics, velocity_metrics

MIN_SPREAD = 0.6  # the predicted spread stays at least this share of the real one
BAR_LINE = 10  # the step feature that marks a bar line (features.step_features)


def spread_velocities(v: np.ndarray, spread: float) -> np.ndarray:
    """Deviations from the piece's mean scaled by ``spread``, clipped to 1..127."""
    v = np.asarray(v, dtype=np.float64)
    return np.clip(np.rint(v.mean() + spread * (v - v.mean())) if len(v) else v, 1, 127)


@torch.no_grad()
def raw_outputs(model, piece_notes: np.ndarray, piece_steps: np.ndarray):
    """(velocities (N,), P(down) (S,), P(press) (S,)) of one piece."""
    v = model.velocity(torch.from_numpy(piece_notes)[None])[0].numpy()
    p = torch.sigmoid(model.pedal(torch.from_numpy(piece_steps)[None])[0]).numpy()
    return v, p[:, 0], p[:, 1]


def calibrate(model, pieces) -> dict:
    """{"spread", "down_threshold", "press_threshold"} chosen on ``pieces``."""
    outs = [raw_outputs(model, p.notes, p.steps) for p in pieces]
    real = np.mean([np.std(p.velocity) for p in pieces])
    best = None
    for spread in np.arange(1.0, 2.51, 0.1):
        preds = [spread_velocities(v, spread) for v, _, _ in outs]
        m = velocity_metrics(pieces, preds)
        if m["velocity_spread"] < MIN_SPREAD * real and spread < 2.5:
            continue
        if best is None or m["velocity_mae"] < best[0]:
            best = (m["velocity_mae"], float(round(spread, 2)))
    bars = [p.steps[:, BAR_LINE] > 0 for p in pieces]
    grid = [(td, tp) for td in np.arange(0.05, 0.81, 0.05) for tp in np.arange(0.1, 0.96, 0.05)]

    def score(t):  # both pedal measures of the bench, equally
        m = pedal_metrics(pieces, [decode_pedal(d, q, *t, bars=b) for (_, d, q), b in
                                   zip(outs, bars)])
        return m["pedal_frame_f1"] + m["pedal_change_f1"]

    down_t, press_t = max(grid, key=score)
    return {"spread": best[1], "down_threshold": round(float(down_t), 2),
            "press_threshold": round(float(press_t), 2)}


def main(argv=None) -> int:
    """``python -m pianoplay.models.performer.calibrate CHECKPOINT``: choose the spread and
    the pedal thresholds again on the validation split and write them into config.json."""
    import argparse
    import json
    from pathlib import Path

    from pianoplay.models.checkpoint import write_config
    from pianoplay.models.performer.data import load_split
    from pianoplay.models.performer.play import TrainedPerformer

    ap = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--cache", default="runs/performer")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    performer = TrainedPerformer.from_checkpoint(args.checkpoint)
    cache = Path(args.cache) / "cache-valid.npz" if args.cache else None
    tuned = calibrate(performer.model, load_split("valid", cache))
    config = json.loads((args.checkpoint / "config.json").read_text())
    config["model"].update(tuned)
    config.setdefault("training", {})["calibrated"] = (
        f"python -m pianoplay.models.performer.calibrate {args.checkpoint}")
    write_config(args.checkpoint, config)
    print(json.dumps(tuned))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
