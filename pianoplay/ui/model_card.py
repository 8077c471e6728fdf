"""The Model tab's card: what a checkpoint is for, its data, and its numbers with units.

``config.json["metrics"]`` nests measurements by split (``{"test": {"elbo_nll_per_frame":
2.79, ...}}``); :data:`METRICS` names the known keys and gives their unit. An unknown key
is still shown, with its name made readable.
"""

from __future__ import annotations

# metric key (the last part of its dotted path) -> (readable name, unit); unit "%" shows
# a fraction as a percentage
METRICS: dict[str, tuple[str, str]] = {
    "nll_per_frame": ("negative log-likelihood", "nats per frame"),
    "elbo_nll_per_frame": ("negative log-likelihood, ELBO bound", "nats per frame"),
    "is_nll_per_frame": ("negative log-likelihood, importance-sampled", "nats per frame"),
    "recon_nll_per_frame": ("reconstruction term", "nats per frame"),
    "kl_per_frame": ("KL divergence", "nats per frame"),
    "oov_rate": ("frames outside the vocabulary", "%"),
    "nll_oov_share": ("likelihood spent on those frames", "nats per frame"),
    "frames": ("frames scored", "frames"),
    "scored_frames": ("frames scored", "frames"),
    "windows": ("windows", "windows"),
    "recon_windows": ("windows reconstructed", "windows"),
    "recon_acc_teacher_forced": ("frames given back exactly, teacher forced", "%"),
    "recon_acc_sampled": ("frames given back exactly, decoded", "%"),
    "is_samples": ("importance samples", "per window"),
    "seconds": ("time to evaluate", "s"),
    "nll_per_segment": ("reconstruction term", "nats per 2-bar segment"),
    "kl_per_segment": ("KL divergence", "nats per 2-bar segment"),
    "prior_nll": ("prior's negative log-likelihood of the codes", "nats per segment"),
    "cell_accuracy": ("key-frame cells given back exactly", "%"),
    "onset_f1_aligned": ("note onsets given back (F1)", "%"),
    "speed_beam_w8_128_s": ("beam sampling, width 8, 16 bars", "s"),
    "speed_sample_32x128_s": ("32 samples of 16 bars at once", "s"),
    "decode_1": ("decode one piece", "ms"),
    "sample_4": ("sample 4 pieces", "ms"),
    "sample_audio_png": ("sample with audio and picture", "ms"),
    "encode_midi": ("encode a MIDI file", "ms"),
}
# the part of a dotted path that names a split or a group
GROUPS = {
    "valid": "validation",
    "valid_final": "validation (final weights)",
    "test": "test",
    "latency_ms": "speed",
}
# text metrics: shown under the table, not in it
NOTES = ("protocol", "command", "note", "how")
# the first of these a checkpoint has is its headline number
HEADLINE = (
    "test.is_nll_per_frame",
    "test.elbo_nll_per_frame",
    "test_nll_per_frame",
    "valid.elbo_nll_per_frame",
    "valid_nll_per_frame",
)
# The card's first three lines, in plain words: what it is for and what a listener can
# expect (its family's declaration: FamilySpec.plain_for / plain_expect, unless its
# config.json has its own: a personal model's), and what it learnt
# from (DATA_WORDS, by data set name).
DATA_WORDS = {
    "Nottingham": "about 700 British and Irish folk tunes with chords (the Nottingham set)",
    "nottingham": "about 700 British and Irish folk tunes with chords (the Nottingham set)",
    "piano-midi-de": "about 270 classical piano pieces (piano-midi.de)",
}


def summary_lines(info) -> list[str]:
    """The three plain lines a card starts with: what for, trained on what, what to expect."""
    data = info.config.get("data", {})
    names = [data["name"]] if "name" in data else list(data.get("sets", {}))
    words = [DATA_WORDS.get(n, n) for n in names] or ["data not recorded"]
    plain_for = info.config.get("plain_for") or info.spec.plain_for  # a checkpoint's own
    expect = info.config.get("plain_expect") or info.spec.plain_expect  # words win
    return [
        f"**What it is for:** {plain_for or f'A {info.family} model.'}",
        f"**Trained on:** {' and '.join(words)}.",
        f"**What to expect:** {expect or 'see the details below.'}",
    ]


def _without_title(readme: str, name: str) -> str:
    """The README without its first heading when that only repeats the checkpoint's name."""
    lines = readme.lstrip().splitlines()
    if lines and lines[0].lstrip("#").strip() == name:
        lines = lines[1:]
    return "\n".join(lines).strip()


def readable(key: str) -> str:
    """``"valid_nottingham"`` -> ``"valid nottingham"``."""
    return key.replace("_", " ").replace(".", " / ")


def format_value(value, unit: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if unit == "%":
        return f"{100 * value:.1f} %"
    if isinstance(value, int):
        return f"{value:,} {unit}".strip()
    return f"{value:.4g} {unit}".strip()


def metric_rows(metrics: dict, group: str = "") -> list[tuple[str, str, str]]:
    """(group, measure, value with unit) for every number in nested ``metrics``."""
    rows = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            name = GROUPS.get(key) or readable(key.split("_", 1)[1] if key.startswith(
                ("valid_", "test_")) and group else key)
            rows += metric_rows(value, f"{group}, {name}" if group else name)
        elif key not in NOTES:
            suffix = key
            for split in ("test_", "valid_"):  # flat keys such as test_nll_per_frame
                if key.startswith(split) and key[len(split):] in METRICS and not group:
                    suffix = key[len(split):]
                    group_of = GROUPS[split[:-1]]
                    break
            else:
                group_of = group
            name, unit = METRICS.get(suffix, (readable(key), ""))
            rows.append((group_of or "-", name, format_value(value, unit)))
    return rows


def flat_numbers(metrics: dict, prefix: str = "") -> list[tuple[str, float]]:
    """(dotted key, number) for every number in nested ``metrics``."""
    out = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            out += flat_numbers(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((f"{prefix}{key}", value))
    return out


def headline_numbers(metrics: dict, limit: int = 6) -> list[tuple[str, float]]:
    """At most ``limit`` numbers worth a one-line listing: likelihoods, KL and accuracies
    first (test split before the others), else whatever numbers there are."""
    numbers = flat_numbers(metrics)
    quality = [n for n in numbers if any(w in n[0] for w in ("nll", "kl", "acc", "f1", "oov"))]
    chosen = quality or numbers
    chosen.sort(key=lambda n: not n[0].startswith("test"))  # stable: keeps the file's order
    return chosen[:limit]


def _notes(metrics: dict, group: str = "") -> list[str]:
    out = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            out += _notes(value, f"{group}{GROUPS.get(key, readable(key))}: ")
        elif key in NOTES:
            out.append(f"- {group}{key}: {value}")
    return out


def _lookup(metrics: dict, dotted: str):
    value = metrics
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value if isinstance(value, (int, float)) else None


def _data(config: dict) -> str:
    data = config.get("data", {})
    if "name" in data:
        text = f"**{data['name']}**"
        pieces = data.get("train_pieces", data.get("pieces"))
        if isinstance(pieces, dict):  # pieces per split
            pieces = pieces.get("train")
        return text + (f", {pieces:,} training pieces" if isinstance(pieces, int) else "")
    sets = data.get("sets", {})
    if sets:
        return ", ".join(f"**{n}** ({s.get('pieces', '?')} pieces)" for n, s in sets.items())
    return "not recorded"


def _representation(rep: dict) -> str:
    per_quarter = rep.get("steps_per_quarter")
    frames = {2: "eighth-note", 4: "sixteenth-note"}.get(per_quarter, f"{per_quarter} per quarter")
    parts = [f"{frames} frames"]
    if rep.get("normalize_key"):
        parts.append("every piece moved to C major / A minor")
    if rep.get("onsets"):
        parts.append("note starts marked")
    return ", ".join(parts)


def card_markdown(info) -> str:
    """Markdown for a :class:`~pianoplay.models.registry.CheckpointInfo`: three plain lines
    (:func:`summary_lines`), then folded under "Details": purpose, data, headline number,
    every metric with its unit, and the checkpoint's README."""
    config = info.config
    purpose = info.spec.summary
    lines = [
        f"## {info.name}",
        "",
        *(line + "  " for line in summary_lines(info)),  # two spaces: a line break
        "",
        "<details><summary>Details: the numbers, the configuration, the full card</summary>",
        "",
        purpose,
        "",
        f"- **Trained on**: {_data(config)}",
        f"- **Representation**: {_representation(info.representation)}",
    ]
    roles = config.get("app_roles") or ()
    if roles:
        lines.append(f"- **The app's first choice for**: {', '.join(roles)}")
    for role, reason in (config.get("not_for") or {}).items():
        lines.append(f"- **Not offered for {role}**: {reason}")
    metrics = info.metrics
    for dotted in HEADLINE:
        value = _lookup(metrics, dotted)
        if value is not None:
            split = "test" if dotted.startswith("test") else "validation"
            lines.append(
                f"- **Headline**: {value:.3f} nats per frame on the {split} split "
                "(negative log-likelihood; lower is better)"
            )
            break
    rows = metric_rows(metrics)
    if rows:
        lines += ["", "| split | measure | value |", "|---|---|---|"]
        lines += [f"| {g} | {m} | {v} |" for g, m, v in rows]
    notes = _notes(metrics)
    if notes:
        lines += ["", "How measured:", *notes]
    return ("\n".join(lines) + "\n\n---\n\n" + _without_title(info.card(), info.name)
            + "\n\n</details>")
