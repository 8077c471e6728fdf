"""The flags of ``pianoplay train chord-lstm|roll-lstm``: every field of
:class:`~pianoplay.models.lm.train.LMTrainConfig` (defaults < ``--config`` < the flags
given), checked, then :func:`~pianoplay.models.lm.train.train`. Torch-free: the CLI imports
this to register the flags."""

from __future__ import annotations

import shlex
import sys
import typing
from dataclasses import fields
from pathlib import Path

from pianoplay.config_io import ConfigError
from pianoplay.errors import PianoplayError
from pianoplay.models.lm import FAMILIES
from pianoplay.models.lm.train import LMTrainConfig, train
from pianoplay.training.options import build_config, read_json_arg

TRAIN_HELP = {  # the families of this trainer (pianoplay.models.lm.FAMILIES) -> --help
    "chord-lstm": "LSTM over whole-frame tokens (chord vocabulary)",
    "roll-lstm": "piano-roll LSTM baseline (88 independent Bernoullis)",
}


CHORD_ONLY = ("min_count", "max_vocab", "min_pieces", "unk_aux", "unk_head", "hands",
              "hand_vocab_size", "key_features", "tie_weights")
HELP = {  # the flag of each field: --field-name, or the switch in SWITCHES
    "epochs": "most epochs",
    "max_minutes": "stop after this much training time",
    "patience": "epochs without validation gain before stopping",
    "batch_size": "pieces per batch",
    "max_batch_frames": "cap on pieces x longest length",
    "clip": "gradient norm clip",
    "bptt": "frames per update (truncated BPTT)",
    "transpose": "augment with random transpositions of up to +-N semitones (0 = off)",
    "limit": "use only the first N training pieces",
    "steps_per_quarter": "MIDI folders only",
    "normalize_key": "MIDI folders only",
    "min_count": "vocabulary: minimum frame count",
    "max_vocab": "vocabulary: at most this many frames",
    "min_pieces": "vocabulary: frames seen in at least N training pieces (2 makes UNK "
    "occur in training about as often as in new pieces)",
    "unk_aux": "weight of the UNK head's Bernoulli loss on every frame (0 = off)",
    "unk_head": "spread UNK with the vocabulary's fixed Bernoulli, not a learned one",
    "hands": "two tokens per frame: the right hand's chord (middle C and up), then the "
    "left's, each from its own vocabulary (music.hand_vocab; for classical piano)",
    "hand_vocab_size": "with --hands: chords kept per hand (counted over the --transpose shifts)",
}
SWITCHES = {"normalize_key": "--no-normalize-key", "unk_head": "--no-unk-head", "hands": "--hands",
            "key_features": "--no-key-features", "tie_weights": "--no-tie"}


def add_train_parser(families) -> None:
    hints = typing.get_type_hints(LMTrainConfig)
    for spec in FAMILIES:
        family, help_ = spec.train_name, TRAIN_HELP[spec.train_name]
        p = families.add_parser(family, help=help_)
        p.add_argument("--data", type=Path, required=True,
                       help="benchmark .mat/.pickle or MIDI data set folder")
        p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
        p.add_argument("--config", default=None,
                       help="JSON object or file of LMTrainConfig keys (a checkpoint's "
                       "training.config); over the defaults, under the flags given")
        defaults = LMTrainConfig.for_family(family)
        for f in fields(LMTrainConfig):
            if f.name in CHORD_ONLY and family != "chord-lstm":
                continue
            default, kind = getattr(defaults, f.name), hints[f.name]
            if kind is bool:
                text = f"{HELP.get(f.name, '')} (config: {f.name} = {str(not default).lower()})"
                p.add_argument(SWITCHES[f.name], dest=f.name, action="store_const",
                               const=not default, default=None, help=text.lstrip())
            else:
                text = f"{HELP.get(f.name, '')} (default: {default})".lstrip()
                kind = next(a for a in typing.get_args(kind) or (kind,) if a is not type(None))
                p.add_argument("--" + f.name.replace("_", "-"), type=kind, default=None,
                               help=text)
        p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: auto)")
        p.add_argument("--threads", type=int, default=0,
                       help="torch CPU threads (0 = torch default)")
        p.add_argument("--no-test", action="store_true",
                       help="skip the final test-split evaluation")
        p.add_argument("--resume", action="store_true",
                       help="continue from OUT/resume/ (saved after every epoch; same flags)")
        p.set_defaults(func=run, train_family=family)


def resolve_config(args) -> LMTrainConfig:
    """Defaults of the family < ``--config`` < explicit flags; unknown keys named."""

    family = args.train_family
    flags = {f.name: getattr(args, f.name, None) for f in fields(LMTrainConfig)}
    over = read_json_arg(args.config)
    cfg = build_config(LMTrainConfig, LMTrainConfig.for_family(family), over, flags)
    if family != "chord-lstm":
        changed = [k for k in CHORD_ONLY if getattr(cfg, k) != getattr(LMTrainConfig(), k)]
        if changed:
            raise ConfigError(f"--config: {family} has no {', '.join(map(repr, changed))} "
                              "(chord-lstm only).")
    return cfg


def run(args) -> int:
    cfg = resolve_config(args)
    if cfg.epochs < 1:
        raise PianoplayError(f"--epochs must be at least 1, not {cfg.epochs}.")
    if cfg.max_minutes <= 0:
        raise PianoplayError(f"--max-minutes must be positive, not {cfg.max_minutes}.")
    if not args.data.exists():
        raise PianoplayError(f"--data {args.data} does not exist.")
    if cfg.transpose < 0 or cfg.transpose > 12:
        raise PianoplayError(f"--transpose must be within 0..12, not {cfg.transpose}.")
    if args.resume and not (args.out / "resume" / "state.json").is_file():
        raise PianoplayError(f"--resume: {args.out / 'resume'} holds no training state.")
    command = (
        "pianoplay " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if Path(sys.argv[0]).name in ("pianoplay", "__main__.py", "cli.py")
        else shlex.join(sys.argv)
    )
    train(cfg, args.train_family, args.data, args.out, device=args.device, threads=args.threads,
          resume=args.resume, test=not args.no_test, command=command)
    return 0
