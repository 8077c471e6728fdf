"""Decoding for both LM families: sampling (temperature, top-k, top-p), greedy, beam search.

All ``n`` sequences (and all ``n * W`` beams) advance as one batched tensor per
step. UNK is never emitted (its logit is masked), so every generated frame is a
known frame of the vocabulary. A primer roll is fed first and copied verbatim
to the start of every output.
"""

from __future__ import annotations

import numpy as np
import torch

from pianoplay.derived import derived
from pianoplay.errors import PianoplayError

STRATEGIES = ("sample", "greedy", "top-k", "top-p", "beam")


class DecodingError(PianoplayError, ValueError):
    """A decoding argument out of range (named in the message)."""


def check_args(strategy: str, n: int, steps: int, temperature: float, top_k: int, top_p: float,
               beam_width: int, primer: np.ndarray | None, family: str = "chord-lstm") -> None:
    if strategy not in STRATEGIES:
        raise DecodingError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}.")
    if family == "roll-lstm" and strategy not in ("sample", "greedy"):
        raise DecodingError(f"the roll-LSTM predicts 88 independent keys, so it decodes with 'sample' or "
                            f"'greedy' only, not {strategy!r}; use a chord-LSTM for {strategy}.")
    if n < 1:
        raise DecodingError(f"n must be at least 1, not {n}.")
    if steps < 1:
        raise DecodingError(f"steps must be at least 1, not {steps}.")
    if not temperature > 0:
        raise DecodingError(f"temperature must be positive, not {temperature}.")
    if strategy == "top-k" and top_k < 1:
        raise DecodingError(f"top-k decoding needs top_k >= 1, not {top_k}.")
    if strategy == "top-p" and not 0 < top_p <= 1:
        raise DecodingError(f"top-p decoding needs 0 < top_p <= 1, not {top_p}.")
    if strategy == "beam":
        if beam_width < 1:
            raise DecodingError(f"beam_width must be at least 1, not {beam_width}.")
        if n > beam_width:
            raise DecodingError(f"beam search returns the n best of beam_width beams: n={n} > "
                                f"beam_width={beam_width}.")
    if primer is not None:
        primer = np.asarray(primer)
        if primer.ndim != 2 or primer.shape[1] != 88 or len(primer) == 0:
            raise DecodingError(f"the primer must be a non-empty (T, 88) roll, not shape {primer.shape}.")


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """(B, V) -> (B, V) with everything outside the top k / the nucleus p set to -inf."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, -1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, -1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) >= top_p  # keep the smallest prefix reaching p
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return logits


@torch.no_grad()
def generate(model, vocab, n: int = 1, steps: int = 128, strategy: str = "sample", temperature: float = 1.0,
             top_k: int = 0, top_p: float = 1.0, beam_width: int = 8, primer: np.ndarray | None = None,
             seed: int | None = None, length_alpha: float = 0.6) -> list[np.ndarray]:
    """``n`` rolls (P + steps, 88) uint8: the primer (P frames, may be empty) then ``steps`` new frames.

    ``vocab`` is the ChordVocab of a chord-LSTM, or ``None`` for a roll-LSTM.
    Beam search returns the ``n`` best of ``beam_width`` beams ranked by length-normalised
    log-probability ``sum log p / ((5 + L) / 6) ** length_alpha`` (GNMT; all beams share one
    length here, so it only rescales the reported score).
    """
    family = "chord-lstm" if vocab is not None else "roll-lstm"
    check_args(strategy, n, steps, temperature, top_k, top_p, beam_width, primer, family)
    device = next(model.parameters()).device
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**63))
    was_training = model.training
    model.eval()
    primer = np.zeros((0, 88), np.uint8) if primer is None else (np.asarray(primer) > 0).astype(np.uint8)
    try:
        if vocab is None:
            new = _roll_decode(model, n, steps, strategy, temperature, primer, gen)
        elif strategy == "beam":
            new = vocab.decode_batch(_beam(model, vocab, n, steps, temperature, beam_width, primer, length_alpha))
        else:
            new = vocab.decode_batch(_chord_decode(model, vocab, n, steps, strategy, temperature, top_k, top_p,
                                                   primer, gen))
    finally:
        model.train(was_training)
    return [np.concatenate([primer, x]).astype(np.uint8) for x in new]


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
    """Run the start symbol + primer through the model; return the last hidden (batch, H) and state."""
    tokens = inputs_tokens[None].expand(batch, -1)
    frames = inputs_frames[None].expand(batch, -1, -1)
    h, state = model(tokens, frames)
    return h[:, -1], state


def _chord_inputs(vocab, primer: np.ndarray, device):
    tokens = np.concatenate([[vocab.bos_id], vocab.encode(primer)])
    frames = np.concatenate([np.zeros((1, 88), np.uint8), primer])
    return torch.as_tensor(tokens, device=device), torch.as_tensor(frames, device=device).float()


def _next_logits(model, h: torch.Tensor, w_out: torch.Tensor, temperature: float) -> torch.Tensor:
    logits = model.logits(h, w_out).float() / temperature  # (B, V)
    logits[:, 0] = float("-inf")  # never emit UNK
    return logits


def _chord_decode(model, vocab, n, steps, strategy, temperature, top_k, top_p, primer, gen) -> np.ndarray:
    device = next(model.parameters()).device
    h, state = _prime(model, *_chord_inputs(vocab, primer, device), n)
    w_out = model.out_vectors() if model.config.tie_weights else None
    out = torch.empty(n, steps, dtype=torch.long, device=device)
    step = _chord_stepper(model)
    for t in range(steps):
        logits = _next_logits(model, h, w_out, temperature)
        if strategy == "greedy":
            tok = logits.argmax(-1)
        else:
            if strategy == "top-k":
                logits = filter_logits(logits, top_k=top_k)
            elif strategy == "top-p":
                logits = filter_logits(logits, top_p=top_p)
            tok = torch.multinomial(logits.softmax(-1), 1, generator=gen).squeeze(-1)
        out[:, t] = tok
        h, state = step.tokens(tok, state)
    return out.cpu().numpy()


def _beam(model, vocab, n, steps, temperature, width, primer, length_alpha) -> np.ndarray:
    """Beam search, all W beams as one (W, ...) batch; returns the n best (n, steps) token ids."""
    device = next(model.parameters()).device
    h, state = _prime(model, *_chord_inputs(vocab, primer, device), width)
    w_out = model.out_vectors() if model.config.tie_weights else None
    scores = torch.full((width,), float("-inf"), device=device)
    scores[0] = 0.0  # all beams start identical: expand only one at the first step
    history = torch.empty(width, 0, dtype=torch.long, device=device)
    step = _chord_stepper(model)
    for _ in range(steps):
        logp = _next_logits(model, h, w_out, temperature).log_softmax(-1)  # (W, V)
        total = (scores[:, None] + logp).flatten()  # (W * V,)
        scores, flat = torch.topk(total, width)
        beam, tok = flat // logp.shape[1], flat % logp.shape[1]
        history = torch.cat([history[beam], tok[:, None]], 1)
        state = tuple(s[:, beam] for s in state)  # (layers, W, H) reordered
        h, state = step.tokens(tok, state)
    norm = ((5 + steps) / 6) ** length_alpha
    order = torch.argsort(scores / norm, descending=True)[:n]
    return history[order].cpu().numpy()


def _roll_decode(model, n, steps, strategy, temperature, primer, gen) -> np.ndarray:
    device = next(model.parameters()).device
    frames = torch.zeros(1 + len(primer), 88, device=device)
    frames[1:] = torch.as_tensor(primer, device=device).float()
    bos = torch.zeros(1 + len(primer), dtype=torch.bool, device=device)
    bos[0] = True
    h, state = model(bos[None].expand(n, -1), frames[None].expand(n, -1, -1))
    h = h[:, -1]
    out = torch.empty(n, steps, 88, dtype=torch.uint8, device=device)
    step = derived(model, "_stepper", lambda: LSTMStepper(model.lstm))
    for t in range(steps):
        a = model.logits(h).float() / temperature  # (n, 88)
        x = (a > 0).float() if strategy == "greedy" else torch.bernoulli(torch.sigmoid(a), generator=gen)
        out[:, t] = x.to(torch.uint8)
        h, state = step(model.wke(x), state)
    return out.cpu().numpy()
