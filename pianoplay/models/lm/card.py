"""The model card (README.md) of a language-model checkpoint, from its config."""

from __future__ import annotations

import json
from pathlib import Path


def write_card(folder: str | Path, config: dict) -> Path:
    """The model card README.md of a checkpoint, from its config."""
    m, t, d = config.get("metrics", {}), config.get("training", {}), config.get("data", {})
    lines = [
        f"# {config.get('name', Path(folder).name)}",
        "",
        f"Family **{config['family']}**, trained on **{d.get('name', '?')}** "
        f"({d.get('train_pieces', '?')} pieces, {d.get('train_frames', '?')} frames).",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in m.items()]
    lines += [
        "",
        "NLL in nats per frame, summed over the 88 keys, averaged over every frame except each "
        "piece's first (benchmark protocol), exact.",
        "",
        "## Model",
        "",
        "```json",
        _json(config["model"]),
        "```",
        "",
        "## Representation",
        "",
        "```json",
        _json(config.get("representation", {})),
        "```",
        "",
        "## Training",
        "",
        f"Command: `{t.get('command', '?')}`",
        "",
        f"Seed {t.get('seed')}, device {t.get('device')}, torch {t.get('torch')}, "
        f"{t.get('threads')} CPU thread(s); {t.get('epochs_run')} epochs "
        f"(best {t.get('best_epoch')}), {t.get('train_minutes')} min, stopped by "
        f"{t.get('stopped', '?')}; {t.get('parameters')} parameters.",
        "",
    ]
    if "vocab_size" in d:
        lines += [
            f"Vocabulary: {d['vocab_size']} frames (min count {d.get('vocab_min_count')}) + UNK, "
            "in `vocab.json`.",
            "",
        ]
    history = t.get("history", [])
    if history:
        lines += ["| epoch | train NLL | valid NLL | lr | minutes |", "|---|---|---|---|---|"]
        lines += [
            f"| {h['epoch']} | {h['train_nll']} | {h['valid_nll']} | {h['lr']:.2g} "
            f"| {h['minutes']} |"
            for h in history
        ]
        lines.append("")
    extra = config.get("card_notes")
    if extra:
        lines += ["## Notes", "", extra, ""]
    path = Path(folder, "README.md")
    path.write_text("\n".join(lines))
    return path


def _json(obj) -> str:
    return json.dumps(obj, indent=2)
