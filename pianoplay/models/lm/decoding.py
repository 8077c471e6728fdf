"""Decoding for both LM families. The chord-LSTM supplies a step function to the
strategies of :mod:`pianoplay.decoding`; the roll-LSTM (88 independent keys, no
tokens) samples each key itself.

A primer roll is fed first and copied verbatim to the start of every output.
The chord-LSTM decodes under :func:`chord_rules`; the roll-LSTM's rests are limited as
the chord-LSTM's (at most a quarter of any bar, no opening rest; :func:`_roll_decode`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from pianoplay.decoding import run
from pianoplay.decoding.step import DecodingError, Rules
from pianoplay.models.derived import derived
from pianoplay.models.lm import CHORD_LSTM, ROLL_LSTM

# Measured on the training sets: 99.9 % of held runs last at most 10 (Nottingham) / 8
# (piano-midi-de) eighths, 90 % of rests at most a quarter. Both LMs fall into holds that
# never end (up to 111 frames in a 128-frame sample) and chord-lstm-classical into rests
# (silent 29-65 % of frames); searches fall into loops over a few frames. roll-lstm-nottingham
# sampling was silent in 12 % of eighths (real 1 %).
MAX_HOLD_BARS = 1
MAX_REST_QUARTERS = 1  # per bar
REPEAT_PENALTY = 1.5  # nats off a frame per use in the last REPEAT_BARS bars (searches only)
REPEAT_BARS = 4
# Sampling (sample, top-k, top-p) holds the previous frame in 44-50 % of eighths on
# chord-lstm-nottingham (real 25 %) and top-k / top-p of chord-lstm-classical loop over few
# frames (classical top-k at the app's top_k 20: 23 distinct frames in 128, real 70): a
# lighter penalty over the last 2 bars brings all of them into the band (bench/music_quality.py;
# 0.5 nats over 1 or 2 bars and 1 nat over 1 bar leave classical top-k at 36-42 distinct, under 42).
SAMPLE_PENALTY = 0.75  # nats off a frame per use in the last SAMPLE_BARS bars (sampling only)
SAMPLE_BARS = 2


def check_args(
    strategy: str,
    n: int,
    steps: int,
    temperature: float,
    top_k: int,
    top_p: float,
    beam_width: int,
    primer: np.ndarray | None,
    family: str = CHORD_LSTM.name,
) -> None:
    run.check_args(strategy, n, steps, temperature, top_k, top_p, beam_width)
    if family == ROLL_LSTM.name and strategy not in ROLL_LSTM.strategies:
        raise DecodingError(f"the roll-LSTM does not offer {strategy!r}: "
                            + ROLL_LSTM.not_offered.get(strategy, "unknown strategy."))
    if primer is not None:
        primer = np.asarray(primer)
        if primer.ndim != 2 or primer.shape[1] != 88 or len(primer) == 0:
            raise DecodingError(
                f"the primer must be a non-empty (T, 88) roll, not shape {primer.shape}."
            )


@torch.no_grad()
def generate(
    model,
    vocab,
    n: int = 1,
    steps: int = 128,
    strategy: str = "sample",
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    beam_width: int = 8,
    primer: np.ndarray | None = None,
    seed: int | None = None,
    steps_per_bar: int = 8,
    rules: dict | None = None,
) -> list[np.ndarray]:
    """``n`` rolls (P + steps, 88) uint8: the primer (P frames, may be empty), then ``steps``
    new frames.

    ``vocab`` is the ChordVocab of a chord-LSTM, or ``None`` for a roll-LSTM.
    ``strategy``: a name of :data:`pianoplay.decoding.STRATEGIES` or ``"beam-search"``;
    beam sampling proposes whole bars of ``steps_per_bar`` frames. ``rules``: values of
    :class:`Rules` fields that replace :func:`chord_rules`' (a checkpoint's ``decode_rules``).
    """
    family = CHORD_LSTM.name if vocab is not None else ROLL_LSTM.name
    check_args(strategy, n, steps, temperature, top_k, top_p, beam_width, primer, family)
    device = next(model.parameters()).device
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**63))
    was_training = model.training
    model.eval()
    primer = (
        np.zeros((0, 88), np.uint8) if primer is None else (np.asarray(primer) > 0).astype(np.uint8)
    )
    try:
        if vocab is None:
            new = _roll_decode(model, n, steps, temperature, primer, gen, steps_per_bar)
        else:
            step, start, history = chord_decoder(model, vocab, primer, n)
            rules = replace(chord_rules(vocab, steps_per_bar), **(rules or {}))
            per_frame = getattr(vocab, "tokens_per_frame", 1)
            tokens = run.decode(
                strategy,
                step,
                start,
                steps * per_frame,
                rules,
                history=history,
                gen=gen,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                beam_width=beam_width,
                segment=steps_per_bar * per_frame,
            )
            new = vocab.decode_batch(tokens.cpu().numpy())
    finally:
        model.train(was_training)
    return [np.concatenate([primer, x]).astype(np.uint8) for x in new]


def chord_rules(vocab, steps_per_bar: int = 8) -> Rules:
    """UNK never emitted (every frame is a known frame of the vocabulary); a frame held at
    most a bar; rests fill at most a quarter note of any bar, and a piece does not open
    with one; for the searches, a frame used in the last REPEAT_BARS bars costs
    REPEAT_PENALTY nats per use, for the sampling strategies a frame used in the last
    SAMPLE_BARS bars SAMPLE_PENALTY nats per use. A hand vocabulary (two tokens a frame):
    each hand's chord held at most a bar, the right hand's rest limited as a frame's rest,
    the penalties per hand chord."""
    k = getattr(vocab, "tokens_per_frame", 1)
    if k == 2:
        rest = vocab.rest_ids()[0]
    else:
        rest = int(vocab.encode(np.zeros((1, 88), np.uint8))[0])  # 0 (UNK) if silence is unknown
    return Rules(
        banned=(0,),
        max_hold=MAX_HOLD_BARS * steps_per_bar,
        rest=rest or -1,
        max_rest=MAX_REST_QUARTERS * steps_per_bar // 4,
        rest_window=steps_per_bar * k,
        repeat_penalty=REPEAT_PENALTY,
        repeat_window=REPEAT_BARS * steps_per_bar * k,
        sample_penalty=SAMPLE_PENALTY,
        sample_window=SAMPLE_BARS * steps_per_bar * k,
        period=k,
    )


def chord_decoder(model, vocab, primer: np.ndarray, batch: int):
    """The chord-LSTM as a step function: ``(step, (logits, state), history)`` for ``batch``
    sequences after the start symbol and ``primer`` (history: the primer's token ids).
    State ``(h, c)``, each (layers, B, H). A hand model's logits are limited to the hand
    whose turn it is (the right hand after the primer, then alternating)."""
    device = next(model.parameters()).device
    h, state = _prime(model, *_chord_inputs(vocab, primer, device), batch)
    w_out = model.out_vectors() if model.config.tie_weights else None
    stepper = _chord_stepper(model)
    if not model.config.hands:

        def step(state, tokens):
            h, state = stepper.tokens(tokens, state)
            return model.logits(h, w_out), state

        start = model.logits(h, w_out)
    else:  # every row is at the same token position, so at the same hand
        hands = derived(model, "_hand_outputs", lambda: model.hand_outputs(w_out))

        def step(state, tokens):
            h, state = stepper.tokens(tokens, state)
            return model.hand_logits(h, hands[1 - int(model.hand_of[tokens[0]])]), state

        start = model.hand_logits(h, hands[0])  # a frame starts with the right hand
    return step, (start, state), [int(t) for t in vocab.encode(primer)]


class LSTMStepper:
    """One step of a (multi-layer) ``nn.LSTM`` as one fused matmul per layer.

    At T = 1 ``nn.LSTM``'s per-call overhead costs about 3x the arithmetic on a CPU.
    State is the ``nn.LSTM`` one: ``(h, c)``, each (layers, B, H).

    ``token_gates`` (n_tokens, 4H), optional: the first layer's input projection of
    every token's embedding, precomputed; :meth:`tokens` then skips that matmul."""

    def __init__(self, lstm: torch.nn.LSTM, token_gates: torch.Tensor | None = None):
        self.layers = []
        for k in range(lstm.num_layers):
            w = torch.cat([getattr(lstm, f"weight_ih_l{k}"), getattr(lstm, f"weight_hh_l{k}")], 1)
            b = getattr(lstm, f"bias_ih_l{k}") + getattr(lstm, f"bias_hh_l{k}")
            self.layers.append((w.T.contiguous(), b))  # (E + H, 4H), (4H,)
        self.token_gates = token_gates
        self.w_hh0 = lstm.weight_hh_l0.T.contiguous()  # (H, 4H)

    def __call__(self, x: torch.Tensor, state):
        """x (B, E) -> top hidden (B, H), new state."""
        w, b = self.layers[0]
        return self._run(torch.addmm(b, torch.cat([x, state[0][0]], 1), w), state)

    def tokens(self, tok: torch.Tensor, state):
        """tok (B,) ids whose embeddings ``token_gates`` holds -> top hidden (B, H), new state."""
        return self._run(torch.addmm(self.token_gates[tok], state[0][0], self.w_hh0), state)

    def _run(self, gates: torch.Tensor, state):
        """The first layer's gates (B, 4H) -> top hidden (B, H), new state."""
        h, c = state
        hs, cs = [], []
        x = None  # the layer below's output
        for k, (w, b) in enumerate(self.layers):
            if k:
                gates = torch.addmm(b, torch.cat([x, h[k]], 1), w)
            i, f, g, o = gates.chunk(4, 1)  # PyTorch gate order
            c_k = torch.sigmoid(f) * c[k] + torch.sigmoid(i) * torch.tanh(g)
            x = torch.sigmoid(o) * torch.tanh(c_k)
            hs.append(x)
            cs.append(c_k)
        return x, (torch.stack(hs), torch.stack(cs))


def _chord_stepper(model) -> LSTMStepper:
    """A chord-LSTM's stepper with every output id's first-layer input gates
    precomputed. Cached until a parameter changes."""
    return derived(model, "_stepper", lambda: LSTMStepper(model.lstm, _token_input_gates(model)))


def _token_input_gates(model) -> torch.Tensor:
    """(n_out, 4H) first-layer input gates of every output id's embedding, bias included."""
    lstm = model.lstm
    ids = torch.arange(model.config.n_out, device=model.frames.device)
    x = model.embed(ids, model.frames)  # (n_out, E)
    return torch.addmm(lstm.bias_ih_l0 + lstm.bias_hh_l0, x, lstm.weight_ih_l0.T)  # (n_out, 4H)


def _prime(model, inputs_tokens: torch.Tensor, inputs_frames: torch.Tensor, batch: int):
    """Run the start symbol + primer through the model: the last hidden (batch, H), the state."""
    tokens = inputs_tokens[None].expand(batch, -1)
    frames = inputs_frames[None].expand(batch, -1, -1)
    h, state = model(tokens, frames)
    return h[:, -1], state


def _chord_inputs(vocab, primer: np.ndarray, device):
    tokens = np.concatenate([[vocab.bos_id], vocab.encode(primer)])
    frames = np.concatenate([np.zeros((1, 88), np.uint8), vocab.token_frames(primer)])
    return torch.as_tensor(tokens, device=device), torch.as_tensor(frames, device=device).float()


def _roll_decode(model, n, steps, temperature, primer, gen, steps_per_bar=8) -> np.ndarray:
    """Each key drawn on its own; silent frames fill at most MAX_REST_QUARTERS of any bar
    (counting the primer's last frames) and a piece without a primer does not open with one:
    where a rest is not allowed the frame is drawn from the model given that a key is down."""
    device = next(model.parameters()).device
    frames = torch.zeros(1 + len(primer), 88, device=device)
    frames[1:] = torch.as_tensor(primer, device=device).float()
    bos = torch.zeros(1 + len(primer), dtype=torch.bool, device=device)
    bos[0] = True
    h, state = model(bos[None].expand(n, -1), frames[None].expand(n, -1, -1))
    h = h[:, -1]
    out = torch.empty(n, steps, 88, dtype=torch.uint8, device=device)
    step = derived(model, "_stepper", lambda: LSTMStepper(model.lstm))
    window, max_rest = steps_per_bar, MAX_REST_QUARTERS * steps_per_bar // 4
    if len(primer):
        past = [True] * window + [bool(f.any()) for f in primer[-window:]]
    else:  # the rest budget starts spent, its oldest rests leaving first (as Runs.after)
        past = [False] * max_rest + [True] * window
    sounding = torch.tensor(past[-window:] if len(primer) else past[:window], device=device)
    sounding = sounding[None].repeat(n, 1)  # (n, window): was each recent frame not silent
    for t in range(steps):
        a = model.logits(h).float() / temperature  # (n, 88)
        x = torch.bernoulli(torch.sigmoid(a), generator=gen)
        forced = (~x.any(1)) & ((~sounding).sum(1) >= max_rest)
        if forced.any():
            x[forced] = _some_key_down(a[forced], gen)
        out[:, t] = x.to(torch.uint8)
        sounding = torch.cat([sounding[:, 1:], x.any(1, keepdim=True)], 1)
        h, state = step(model.wke(x), state)
    return out.cpu().numpy()


def _some_key_down(logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """(R, 88) independent-key logits -> (R, 88) frames drawn exactly from the model given
    that at least one key is down: the lowest key down k is drawn with probability
    p_k * prod_{j<k} (1 - p_j), then the keys above it on their own."""
    log_on, log_off = F.logsigmoid(logits), F.logsigmoid(-logits)
    below = torch.cumsum(log_off, 1) - log_off  # sum of log(1 - p_j) over j < k
    lowest = torch.multinomial((log_on + below).softmax(1), 1, generator=gen)  # (R, 1)
    keys = torch.arange(logits.shape[1], device=logits.device)[None]
    x = torch.bernoulli(torch.sigmoid(logits), generator=gen) * (keys > lowest)
    return x.scatter(1, lowest, 1.0)
