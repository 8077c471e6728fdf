"""``pianoplay train chord-lstm|roll-lstm``: train an LM, save the best checkpoint.

Validation NLL (the benchmark protocol) after every epoch; the checkpoint with
the best one is kept, the learning rate halves when it stops improving, and
training stops after ``--patience`` epochs without improvement or at
``--max-minutes`` (counted over resumed runs too). The full training state
(weights, Adam moments, scheduler, RNGs; safetensors + JSON) is saved to
``OUT/resume/`` after every epoch; ``--resume`` continues from it and ends
where an uninterrupted run would. Deterministic for a seed on a given device.
"""

from __future__ import annotations

import json
import math
import platform
import shlex
import sys
import time
from pathlib import Path

REPRESENTATION = {
    "steps_per_quarter": 2,
    "normalize_key": True,
    "onsets": False,
    "steps_per_bar": 8,
}


def add_train_parser(families) -> None:
    for family, help_ in (
        ("chord-lstm", "LSTM over whole-frame tokens (chord vocabulary)"),
        ("roll-lstm", "piano-roll LSTM baseline (88 independent Bernoullis)"),
    ):
        p = families.add_parser(family, help=help_)
        p.add_argument(
            "--data",
            type=Path,
            required=True,
            help="benchmark .mat/.pickle or MIDI data set folder",
        )
        p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
        p.add_argument("--epochs", type=int, default=60)
        p.add_argument(
            "--max-minutes", type=float, default=60.0, help="stop after this much training time"
        )
        p.add_argument(
            "--patience", type=int, default=5, help="epochs without validation gain before stopping"
        )
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--batch-size", type=int, default=16, help="pieces per batch")
        p.add_argument(
            "--max-batch-frames", type=int, default=8192, help="cap on pieces x longest length"
        )
        p.add_argument("--lr", type=float, default=2e-3)
        p.add_argument("--weight-decay", type=float, default=0.0)
        p.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
        p.add_argument("--bptt", type=int, default=64, help="frames per update (truncated BPTT)")
        p.add_argument("--embd", type=int, default=256 if family == "chord-lstm" else 128)
        p.add_argument("--hidden", type=int, default=512 if family == "chord-lstm" else 256)
        p.add_argument("--layers", type=int, default=2)
        p.add_argument("--dropout", type=float, default=0.3)
        p.add_argument(
            "--transpose",
            type=int,
            default=0,
            help="augment with random transpositions of up to +-N semitones (0 = off)",
        )
        p.add_argument("--steps-per-quarter", type=int, default=2, help="MIDI folders only")
        p.add_argument("--no-normalize-key", action="store_true", help="MIDI folders only")
        p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: auto)")
        p.add_argument(
            "--threads", type=int, default=0, help="torch CPU threads (0 = torch default)"
        )
        p.add_argument(
            "--limit", type=int, default=None, help="use only the first N training pieces"
        )
        p.add_argument(
            "--no-test", action="store_true", help="skip the final test-split evaluation"
        )
        p.add_argument(
            "--resume",
            action="store_true",
            help="continue from OUT/resume/ (saved after every epoch; same flags)",
        )
        if family == "chord-lstm":
            p.add_argument(
                "--min-count", type=int, default=1, help="vocabulary: minimum frame count"
            )
            p.add_argument(
                "--max-vocab", type=int, default=None, help="vocabulary: at most this many frames"
            )
            p.add_argument(
                "--min-pieces",
                type=int,
                default=2,
                help="vocabulary: frames seen in at least N training pieces (2 makes UNK "
                "occur in training about as often as in new pieces)",
            )
            p.add_argument(
                "--unk-aux",
                type=float,
                default=0.1,
                help="weight of the UNK head's Bernoulli loss on every frame (0 = off)",
            )
            p.add_argument(
                "--no-unk-head",
                action="store_true",
                help="spread UNK with the vocabulary's fixed Bernoulli, not a learned one",
            )
            p.add_argument(
                "--hands",
                action="store_true",
                help="two tokens per frame: the right hand's chord (middle C and up), then the "
                "left's, each from its own vocabulary (music.hand_vocab; for classical piano)",
            )
            p.add_argument(
                "--hand-vocab-size",
                type=int,
                default=4096,
                help="with --hands: chords kept per hand (counted over the --transpose shifts)",
            )
            p.add_argument("--no-key-features", action="store_true")
            p.add_argument("--no-tie", action="store_true")
        p.set_defaults(func=run, train_family=family)


def run(args) -> int:
    from pianoplay.errors import PianoplayError

    if args.epochs < 1:
        raise PianoplayError(f"--epochs must be at least 1, not {args.epochs}.")
    if args.max_minutes <= 0:
        raise PianoplayError(f"--max-minutes must be positive, not {args.max_minutes}.")
    if not args.data.exists():
        raise PianoplayError(f"--data {args.data} does not exist.")
    if args.transpose < 0 or args.transpose > 12:
        raise PianoplayError(f"--transpose must be within 0..12, not {args.transpose}.")
    if args.resume and not (args.out / "resume" / "state.json").is_file():
        raise PianoplayError(f"--resume: {args.out / 'resume'} holds no training state.")
    train(args)
    return 0


def _representation(args) -> dict:
    if args.data.suffix in (".mat", ".pickle", ".pkl"):
        return dict(REPRESENTATION)
    spq = args.steps_per_quarter
    return {
        "steps_per_quarter": spq,
        "normalize_key": not args.no_normalize_key,
        "onsets": False,
        "steps_per_bar": 4 * spq,
    }


def _transpose(roll, shift: int):
    import numpy as np

    out = np.zeros_like(roll)
    if shift >= 0:
        out[:, shift:] = roll[:, : roll.shape[1] - shift]
    else:
        out[:, :shift] = roll[:, -shift:]
    return out


def train(args) -> None:
    import numpy as np
    import torch
    from tqdm import tqdm

    from pianoplay.device import pick_device
    from pianoplay.models.checkpoint import save_checkpoint
    from pianoplay.models.lm.data import Batch, length_batches, load_rolls, make_batch, model_inputs
    from pianoplay.models.lm.evaluate import nll_metrics
    from pianoplay.models.lm.trained import build_model, write_card
    from pianoplay.training.state import load_state, save_state

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = pick_device(args.device)
    family = args.train_family
    rep = _representation(args)

    t_load = time.time()
    train_rolls = load_rolls(args.data, "train", rep)[: args.limit]
    valid_rolls = load_rolls(args.data, "valid", rep)
    train_rolls = [r for r in train_rolls if len(r) >= 2]
    print(
        f"loaded {len(train_rolls)} train / {len(valid_rolls)} valid pieces "
        f"({sum(map(len, train_rolls))} frames) in {time.time() - t_load:.1f} s",
        file=sys.stderr,
    )

    vocab = None
    if family == "chord-lstm":
        from pianoplay.models.lm.model import ChordLSTMConfig
        from pianoplay.music.vocab import ChordVocab

        if args.hands:
            from pianoplay.music.hand_vocab import HandVocab

            vocab = HandVocab.build(
                train_rolls,
                max_size=args.hand_vocab_size,
                min_count=args.min_count,
                transpose=args.transpose,
            )
        else:
            vocab = ChordVocab.build(
                train_rolls,
                min_count=args.min_count,
                max_size=args.max_vocab,
                min_pieces=args.min_pieces,
            )
        model_cfg = ChordLSTMConfig(
            n_out=vocab.n_out,
            n_embd=args.embd,
            n_hidden=args.hidden,
            n_layer=args.layers,
            dropout=args.dropout,
            tie_weights=not args.no_tie,
            key_features=not args.no_key_features,
            unk_head=not args.no_unk_head,
            hands=args.hands,
        )
    else:
        from pianoplay.models.lm.roll_model import RollLSTMConfig

        model_cfg = RollLSTMConfig(
            n_embd=args.embd, n_hidden=args.hidden, n_layer=args.layers, dropout=args.dropout
        )
    model = build_model(family, model_cfg.to_dict(), vocab).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{family}: {n_params / 1e6:.2f} M parameters"
        + (f", vocabulary {vocab.n_out - 1} frames + UNK" if vocab else "")
        + f", device {device}",
        file=sys.stderr,
    )
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)

    command = (
        "pianoplay " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        if Path(sys.argv[0]).name in ("pianoplay", "__main__.py", "cli.py")
        else shlex.join(sys.argv)
    )
    config = {
        "name": args.out.name,
        "family": family,
        "model": model_cfg.to_dict(),
        "representation": rep,
        "data": {
            "name": args.data.stem if args.data.is_file() else args.data.name,
            "path": str(args.data),
            "train_pieces": len(train_rolls),
            "train_frames": int(sum(map(len, train_rolls))),
            "valid_pieces": len(valid_rolls),
        },
        "training": {
            "command": command,
            "seed": args.seed,
            "device": str(device),
            "torch": torch.__version__,
            "machine": platform.machine(),
            "threads": torch.get_num_threads(),
            "batch_size": args.batch_size,
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "clip": args.clip,
            "bptt": args.bptt,
            "transpose": args.transpose,
            "max_minutes": args.max_minutes,
            "patience": args.patience,
            "parameters": n_params,
        },
        "metrics": {},
    }
    if vocab is not None:
        config["data"]["vocab_min_count"] = args.min_count
        config["data"]["vocab_min_pieces"] = args.min_pieces
        config["training"]["unk_aux"] = args.unk_aux
        config["data"]["vocab_size"] = vocab.n_out - 1
        if args.hands:
            config["data"].update(
                vocab_right=len(vocab.right), vocab_left=len(vocab.left),
                vocab_split_pitch=vocab.split_pitch, vocab_min_pieces=None,
            )
    extra = None
    if vocab is not None:
        extra = {"vocab.json": vocab.to_json()}
        config["files"] = {"vocab": "vocab.json"}

    unk_aux = getattr(args, "unk_aux", 0.0)
    per_frame = getattr(vocab, "tokens_per_frame", 1)  # tokens per frame
    bptt = args.bptt * per_frame
    st = {"epoch": 0, "best": math.inf, "best_epoch": 0, "bad": 0, "history": [], "elapsed_s": 0.0}
    if args.resume:
        st = load_state(args.out / "resume", model, opt, sched, rng)
        print(
            f"resumed after epoch {st['epoch']} ({st['elapsed_s'] / 60:.1f} min)", file=sys.stderr
        )
    history = st["history"]  # the same list: appended to below, saved with st
    if st["best_epoch"]:  # the best checkpoint so far is already in OUT
        config["training"].update({"best_epoch": st["best_epoch"], "history": history})
        config["metrics"] = {"valid_nll_per_frame": round(st["best"], 4)}
    start = time.time() - st["elapsed_s"]
    lengths = [len(r) for r in train_rolls]
    stop = st["bad"] >= args.patience or time.time() - start > 60 * args.max_minutes
    for epoch in range(st["epoch"] + 1, args.epochs + 1):
        if stop:
            break
        model.train()
        total, count = 0.0, 0
        batches = length_batches(lengths, args.batch_size, rng, args.max_batch_frames)
        bar = tqdm(batches, desc=f"epoch {epoch}", file=sys.stderr, mininterval=10, leave=False)
        for idx in bar:
            rolls = [train_rolls[i] for i in idx]
            if args.transpose:
                rolls = [
                    _transpose(r, int(rng.integers(-args.transpose, args.transpose + 1)))
                    for r in rolls
                ]
            batch = make_batch(rolls, vocab).to(device)
            state = None
            # Truncated BPTT: an update every --bptt frames, the LSTM state carried over,
            # so a whole-piece batch gives many updates without losing context.
            for s in range(0, batch.mask.shape[1], bptt):
                part = Batch(
                    *(getattr(batch, f)[:, s : s + bptt] for f in Batch.__dataclass_fields__)
                )
                h, state = model(*model_inputs(model, part), state)
                state = tuple(x.detach() for x in state)
                lp = model.frame_log_prob(h, part.tokens_out, part.frames_out, offset=s)
                n = part.mask.sum()
                if n == 0:
                    continue
                loss = -(lp * part.mask).sum() / n
                aux = loss.new_zeros(())
                if unk_aux:
                    aux = (
                        unk_aux
                        * (model.unk_bernoulli_nll(h, part.frames_out, s) * part.mask).sum()
                        / n
                    )
                opt.zero_grad(set_to_none=True)
                (loss + aux).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
                opt.step()
                total += loss.item() * n.item()
                count += n.item() / per_frame  # NLL reported per frame
            bar.set_postfix(nll=f"{total / count:.3f}", refresh=False)
            if time.time() - start > 60 * args.max_minutes:
                stop = True
                break
        valid = nll_metrics(model, vocab, valid_rolls, device)["nll_per_frame"]
        sched.step(valid)
        elapsed = time.time() - start
        history.append(
            {
                "epoch": epoch,
                "train_nll": round(total / count, 4),
                "valid_nll": round(valid, 4),
                "lr": opt.param_groups[0]["lr"],
                "minutes": round(elapsed / 60, 2),
            }
        )
        improved = valid < st["best"] - 1e-4
        print(
            f"epoch {epoch:3d}  train {total / count:.4f}  valid {valid:.4f}  "
            f"{'*' if improved else ' '} {elapsed / 60:.1f} min",
            file=sys.stderr,
            flush=True,
        )
        if improved:
            st.update(best=valid, best_epoch=epoch, bad=0)
            config["training"].update(
                {
                    "epochs_run": epoch,
                    "best_epoch": epoch,
                    "train_minutes": round(elapsed / 60, 2),
                    "history": history,
                }
            )
            config["metrics"] = {"valid_nll_per_frame": round(valid, 4)}
            save_checkpoint(args.out, config, model.state_dict(), extra)
        else:
            st["bad"] += 1
        st.update(epoch=epoch, elapsed_s=time.time() - start)
        save_state(args.out / "resume", model, opt, sched, rng, st)
        if stop or st["bad"] >= args.patience:
            break
    config["training"].update(
        {
            "epochs_run": len(history),
            "train_minutes": round((time.time() - start) / 60, 2),
            "history": history,
            "stopped": "time"
            if stop
            else ("early stopping" if st["bad"] >= args.patience else "epochs"),
        }
    )
    from pianoplay.models.checkpoint import write_config

    if not args.no_test:
        from pianoplay.models.lm.trained import TrainedLM

        trained = TrainedLM.from_checkpoint(args.out, device)
        test = nll_metrics(trained.model, trained.vocab, load_rolls(args.data, "test", rep), device)
        config["metrics"].update(
            {f"test_{k}": (round(v, 4) if isinstance(v, float) else v) for k, v in test.items()}
        )
        print("test " + json.dumps(test), file=sys.stderr)
    write_config(args.out, config)
    write_card(args.out, config)
    print(json.dumps({"out": str(args.out), "best_epoch": st["best_epoch"], **config["metrics"]}))
