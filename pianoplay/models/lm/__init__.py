"""The language models: the chord-LSTM (frames as chord tokens, or two per frame, one per
hand) and the roll-LSTM (88 independent keys). They share their data pipeline, trainer
(``pianoplay train chord-lstm|roll-lstm``), inference wrapper (``TrainedLM``) and
evaluator (exact NLL), so this one folder declares both families.

``model`` (``ChordLSTM``), ``roll_model`` (``RollLSTM``), ``data``, ``decoding``,
``trained``, ``train``, ``evaluate``, ``card`` (README).
"""

from pianoplay.decoding import STRATEGIES
from pianoplay.models.spec import FamilySpec

NO_LATENT = "a language model has no latent space to move or walk through."
LM_TABS = ("sample", "generate")
LM_REFUSES = {"latent": NO_LATENT, "interpolate": NO_LATENT}

CHORD_LSTM = FamilySpec(
    name="chord-lstm",
    summary="A language model over chords (each frame's set of notes is one token, or, for "
    "classical piano, two: the right hand's chord and the left's): writes and continues music "
    "(**Generate**: sampling, top-k, top-p, greedy where offered, beam) and scores it exactly "
    "(nats per frame).",
    plain_for="Writes new music, or continues a piece you give it.",
    plain_expect="Music in the style of what it learnt from, one chord after another; top-p "
    "and beam give the steadiest results.",
    recognise={"family": "chord-lstm"},
    inference="pianoplay.models.lm.trained:TrainedLM",
    trainer="pianoplay.models.lm.train_cli",
    train_name="chord-lstm",
    evaluator="pianoplay.models.lm.evaluate:evaluate",
    tabs=LM_TABS,
    refuses=LM_REFUSES,
    strategies=("top-p", *(s for s in STRATEGIES if s != "top-p")),
)
ROLL_LSTM = FamilySpec(
    name="roll-lstm",
    summary="A language model with one yes/no per key and frame (88 Bernoullis): the "
    "likelihood baseline of the benchmark; it samples too (**Generate**, **Sample**).",
    plain_for="Writes new music one key at a time: the benchmark's baseline.",
    plain_expect="Busy, less tuneful music: it is measured, not meant to compose.",
    recognise={"family": "roll-lstm"},
    inference="pianoplay.models.lm.trained:TrainedLM",
    trainer="pianoplay.models.lm.train_cli",
    train_name="roll-lstm",
    evaluator="pianoplay.models.lm.evaluate:evaluate",
    tabs=LM_TABS,
    refuses=LM_REFUSES,
    strategies=("sample",),
    not_offered={
        s: "the roll-LSTM predicts 88 independent keys, so it decodes with 'sample' only (its "
        "greedy, each key's likelier value, is silence); use a chord-LSTM."
        for s in STRATEGIES
        if s != "sample"
    },
)
FAMILIES = (CHORD_LSTM, ROLL_LSTM)
