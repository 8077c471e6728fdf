"""Inference wrapper of a latent prior: code sequences for a segment VAE to decode.

    prior = TrainedPrior.from_checkpoint("checkpoints/prior-faithful")
    z = prior.sample(4, style="nottingham", seed=1)             # (4, S, D): decode with the VAE
    z = prior.complete(codes, known, style="piano-midi-de")     # codes (L, D), known (L,) bool

A window holds ``segments`` codes; longer sequences are completed window by window
(each window centred on what is missing, with as much known context as fits, and
what it fills becomes context for the next).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pianoplay.errors import CheckpointError, PianoplayError
from pianoplay.models.checkpoint import load_checkpoint
from pianoplay.models.latent_prior.masked import MaskedPrior, masked_sample
from pianoplay.models.latent_prior.model import PriorConfig, sample
from pianoplay.models.latent_prior.networks import build_model


class TrainedPrior:
    """A prior and, when loaded through the registry, the VAE whose codes it writes
    (``via``): then it samples pieces as the VAE would (:meth:`sample`)."""

    def __init__(self, model, config: dict, folder: Path, vae=None) -> None:
        self.model = model.eval()
        self.config = config
        self.folder = Path(folder)
        self.vae = vae

    @classmethod
    def from_checkpoint(cls, folder: str | Path, device: torch.device | str | None = None,
                        via=None, over=None) -> TrainedPrior:
        """Load a prior; ``via`` is the loaded VAE of ``config["via"]`` (the registry
        passes it), needed to write pieces rather than codes; ``over`` the loaded prior
        of ``config["over"]`` a personal palette is made over."""
        config, state, _ = load_checkpoint(folder, "cpu")
        if cls is TrainedPrior and (config.get("personal") or {}).get("kind") == "palette":
            from pianoplay.models.latent_prior.palette import PalettePrior

            return PalettePrior.from_checkpoint(folder, device, via, over)  # your bars
        if cls is TrainedPrior and (config.get("personal") or {}).get("anchors"):
            from pianoplay.models.latent_prior.personal_prior import PersonalPrior

            return PersonalPrior.from_checkpoint(folder, device, via)  # a user's own model
        model = build_model(PriorConfig.from_dict(config["model"], f"{folder}/config.json"))
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise CheckpointError(f"{folder}: weights do not match config.json ({err}).") from None
        return cls(model.to(device or "cpu"), config, Path(folder), via)

    # the VAE's side, so the app treats a prior as a VAE that samples ---------------
    def _need_vae(self):
        if self.vae is None:
            raise CheckpointError(f"{self.folder.name} needs its VAE ({self.vae_name}); "
                                  "load it through the registry.")
        return self.vae

    @property
    def steps_per_bar(self) -> int:
        return self._need_vae().steps_per_bar

    @property
    def steps_per_quarter(self) -> int:
        return self._need_vae().steps_per_quarter

    @property
    def n_steps(self) -> int:
        """Frames of one window (16 bars of 4/4)."""
        return self.segments * self._need_vae().segment_steps

    def to_midi(self, roll, tempo: float = 120.0, program: int = 0, transpose: int = 0,
                source=None):
        return self._need_vae().to_midi(roll, tempo=tempo, program=program,
                                        transpose=transpose, source=source)

    def sample_pieces(self, n: int = 1, style: str | None = None, seed: int | None = None,
                      steps: int | None = None, temperature: float = 1.0) -> list[np.ndarray]:
        """``n`` rolls (steps, 88, 2): code sequences from the prior, decoded by the VAE
        at its most likely notes; with the style's ``registers`` in config.json (mean and
        spread of its training pieces' mean pitch), each piece moved whole by -6..+5
        semitones to a mean pitch drawn from them (:func:`in_register`)."""
        vae = self._need_vae()
        steps = steps or self.n_steps
        segments = max(1, -(-steps // vae.segment_steps))
        z = self.sample(n, style=style, seed=seed, segments=segments, temperature=temperature)
        rolls = [r[:steps] for r in self.rolls_of(z)]
        register = self.register(style)
        if not register:
            return rolls
        rng = np.random.default_rng(None if seed is None else int(seed) + 7919)
        return [in_register(r, rng.normal(register["mean_pitch"], register["std"]))
                for r in rolls]

    def rolls_of(self, z: np.ndarray) -> list[np.ndarray]:
        """(N, S, D) codes -> N rolls (S * segment_steps, 88, 2), as the VAE decodes them
        at their most likely notes."""
        return self._need_vae().decode(z)

    def register(self, style: str | None = None) -> dict | None:
        """The mean pitch (``mean_pitch``, ``std``) pieces of ``style`` sit at (config.json
        ``registers``), or None: samples stay where the codes put them."""
        registers = self.config.get("registers") or {}
        return registers.get(self.styles[self.style_id(style)]) if registers else None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def masked(self) -> bool:
        """Whether the prior writes codebook ids (real bars) rather than denoised codes."""
        return isinstance(self.model, MaskedPrior)

    @property
    def vae_name(self) -> str:
        return str(self.config["via"])

    @property
    def styles(self) -> list[str]:
        return list(self.model.cfg.styles)

    @property
    def segments(self) -> int:
        return self.model.cfg.segments

    def style_id(self, style: str | None) -> int:
        if style is None:
            return 0
        if style not in self.styles:
            raise PianoplayError(f"style must be one of {', '.join(self.styles)}, "
                                 f"not {style!r}.")
        return self.styles.index(style)

    def _generator(self, seed: int | None) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(
            int(seed) if seed is not None else int(torch.randint(0, 2**31 - 1, ())))

    # sampling --------------------------------------------------------------
    def sample(self, n: int = 1, style: str | None = None, seed: int | None = None,
               segments: int | None = None, steps: int | None = None,
               temperature: float = 1.0) -> np.ndarray:
        """(n, segments, D) code sequences drawn from the prior (default: one window).
        Longer sequences continue the first window window by window."""
        S = segments or self.segments
        D = self.model.cfg.latent_dim
        z = np.zeros((n, S, D), np.float32)
        known = np.zeros((n, S), bool)
        return self.complete(z, known, style, seed, steps, temperature)

    @torch.no_grad()
    def complete(self, z, known, style: str | None = None, seed: int | None = None,
                 steps: int | None = None, temperature: float = 1.0) -> np.ndarray:
        """Codes (L, D) or (N, L, D) with the positions where ``known`` (L,) or (N, L) is
        False generated and the others kept (un-normalised codes in and out)."""
        z = np.asarray(z, np.float32)
        known = np.asarray(known, bool)
        single = z.ndim == 2
        if single:
            z, known = z[None], known[None]
        gen = self._generator(seed)
        if self.masked:
            return self._complete_ids(z, known, style, gen, temperature, single)
        x = self.model.normalise(torch.as_tensor(z, device=self.device))
        k = torch.as_tensor(known, device=self.device)
        style_ids = torch.full((len(x),), self.style_id(style), device=self.device)
        fill_windows(x, k, self.segments, lambda xs, ks: sample(
            self.model, xs, ks, style_ids, steps, gen, temperature=temperature))
        out = self.model.denormalise(x).cpu().numpy()
        return out[0] if single else out

    def _complete_ids(self, z, known, style, gen, temperature: float, single: bool):
        """:meth:`complete` for a masked prior: known codes quantised to ids (the context
        it reads), unknown ones written as ids and decoded from the codebook; the known
        codes themselves are returned unchanged."""
        model = self.model
        zt = torch.as_tensor(z, device=self.device)
        ids = model.quantise(zt)
        k = torch.as_tensor(known, device=self.device)
        style_ids = torch.full((len(ids),), self.style_id(style), device=self.device)
        bias = self.style_bias(style, free=~k.any(1))
        fill_windows(ids, k.clone(), self.segments, lambda xs, ks: masked_sample(
            model, xs, ks, style_ids, gen, temperature=temperature, bias=bias))
        out = torch.where(k[..., None], zt, model.codes(ids, style_ids)).cpu().numpy()
        return out[0] if single else out

    def _per_style(self, key: str, style: str | None) -> float:
        value = self.config.get(key) or 0.0
        if isinstance(value, dict):
            value = value.get(self.styles[self.style_id(style)], 0.0)
        return float(value)

    def continuity(self, style: str | None = None) -> float:
        """How strongly a masked prior prefers, in ``style``, bars that continue the notes
        their neighbours hold across the bar line (config.json ``continuity``: a number,
        or one per style; 0: not at all)."""
        return self._per_style("continuity", style)

    def density(self, style: str | None = None) -> float:
        """How strongly a masked prior prefers, in ``style``, the codebook's busier bars:
        the logit bonus per standard deviation of a bar's onsets (config.json ``density``,
        a number or one per style; 0: none). The piano-midi-de samples came out sparser
        than the pieces (2.8 keys down per frame against 3.4)."""
        return self._per_style("density", style)

    def style_bias(self, style: str | None = None, free: torch.Tensor | None = None):
        """The logit bonus :func:`masked_sample` adds in ``style``: the continuity pull and,
        for the rows ``free`` (N,) bool (drawn with no context: samples), the density
        pull, where config.json asks for them (None: neither). A user's bars around a gap
        set its density themselves (the pull cost piano-midi-de's infills 0.7 nats)."""
        sid = self.style_id(style)
        weight = self.continuity(style)
        busy = self.density(style) if free is not None and bool(free.any()) else 0.0
        joins = self.continuity_bias(sid, weight) if weight else None
        if not busy:
            return joins
        onsets = self.bar_edges(sid)[2]
        lean = busy * (onsets - onsets.mean()) / onsets.std().clamp(min=1e-6)  # (K,)
        lean = lean[None] * free.float()[:, None]  # (N, K)
        if joins is None:
            return lean
        return lambda ids, known, pos: joins(ids, known, pos) + lean

    def bar_edges(self, style_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Of each codebook bar of a style as the VAE decodes it: the keys held into its
        first step without being struck (K, 88), the keys sounding at its last step
        (K, 88), and its onsets (K,), float (cached: one decode of the codebook, under a
        second)."""
        cache = self.__dict__.setdefault("_edges", {})
        if style_id not in cache:
            codes = self.model.codebook[style_id].cpu().numpy()[:, None, :]
            rolls = np.stack(self._need_vae().decode(codes))  # (K, L, 88, 2)
            held = (rolls[:, 0, :, 0] > 0) & (rolls[:, 0, :, 1] == 0)
            end = rolls[:, -1, :, 0] > 0
            onsets = (rolls[..., 1] > 0).sum((1, 2))
            cache[style_id] = tuple(torch.as_tensor(x, dtype=torch.float32, device=self.device)
                                    for x in (held, end, onsets))
        return cache[style_id]

    def continuity_bias(self, style_id: int, weight: float):
        """The logit bonus (for :func:`masked_sample`) of each codebook bar at a position:
        ``weight`` x (the keys it holds into its first step that the bar before
        sounds at its end, less those it holds that nothing sounded before; and the same
        for the bar after and the keys it holds in). Bars cut from different tunes
        otherwise start notes held from bars that are not there, and break those held
        over the bar line: shorter notes and more onsets than the music they came from."""
        held, end, _ = self.bar_edges(style_id)
        K, w = held.shape[0], weight
        held_n = held.sum(1)[None]  # (1, K)

        def bias(ids: torch.Tensor, known: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
            B, S = ids.shape
            rows = torch.arange(B, device=ids.device)
            ids = ids.clamp(max=K - 1)
            left, right = (pos - 1).clamp(min=0), (pos + 1).clamp(max=S - 1)
            has_left = ((pos > 0) & known[rows, left]).float()[:, None]
            has_right = ((pos < S - 1) & known[rows, right]).float()[:, None]
            kept_in = end[ids[rows, left]] @ held.T  # (B, K) held keys sounded before
            after = held[ids[rows, right]]  # (B, 88) what the bar after holds in
            kept_out = after @ end.T  # (B, K) of those, sounding at the candidate's end
            return w * (has_left * (2 * kept_in - held_n)
                        + has_right * (2 * kept_out - after.sum(1, keepdim=True)))
        return bias

    @torch.no_grad()
    def project(self, z, style: str | None = None, strength: float = 0.3,
                seed: int | None = None, keep=None, steps: int = 12) -> np.ndarray:
        """Pull codes (L, D) toward the prior's support: noise them to level ``strength``
        (0..1) and denoise (SDEdit), window by window. ``keep`` (L,) bool marks codes
        left as they are."""
        z = np.asarray(z, np.float32)
        L = len(z)
        keep = np.zeros(L, bool) if keep is None else np.asarray(keep, bool)
        if self.masked:  # the nearest real bar of the codebook
            ids = self.model.quantise(torch.as_tensor(z))[None]
            style_ids = torch.tensor([self.style_id(style)])
            snapped = self.model.codes(ids, style_ids)[0].numpy()
            return np.where(keep[:, None], z, snapped)
        gen = self._generator(seed)
        x = self.model.normalise(torch.as_tensor(z[None], device=self.device))
        style_ids = torch.full((1,), self.style_id(style), device=self.device)
        W = self.segments
        out = x.clone()
        starts = list(range(0, max(L - W, 0) + 1, W))
        if starts[-1] + W < L:
            starts.append(L - W)
        for start in starts:
            part = slice(start, start + W)
            k = torch.as_tensor(keep[part][None], device=self.device)
            out[:, part] = sample(self.model, x[:, part], k, style_ids, steps, gen,
                                  start_t=strength, start_x=x[:, part])
        return self.model.denormalise(out).cpu().numpy()[0]


def in_register(roll: np.ndarray, target: float) -> np.ndarray:
    """A (T, 88, 2) roll moved whole by the semitones (-6..+5) that bring the mean pitch of
    its notes nearest ``target``. The codes were learnt in every key around C, so a piece
    comes out in any of them; real pieces of a style sit in its instruments' register (the
    Nottingham tunes' mean pitches: 66 +- 2)."""
    from pianoplay.music.roll import shift_keys

    starts = np.nonzero(roll[..., 1] > 0)[1] if roll.ndim == 3 else np.nonzero(roll)[1]
    if not len(starts):
        return roll
    shift = int(np.clip(round(target - (starts.mean() + 21)), -6, 5))
    return shift_keys(roll, shift) if shift else roll


def fill_windows(x: torch.Tensor, known: torch.Tensor, W: int, fill) -> None:
    """Fill the unknown positions of ``x`` (N, L, ...) in place, window by window:
    ``fill(x_window, known_window)`` returns the window (W positions) complete; each
    window is placed by :func:`window_start`, and what it fills is context for the next.
    ``known`` (N, L) bool is updated too."""
    while not bool(known.all()):
        start = window_start(known.cpu().numpy(), W)
        part = slice(start, start + W)
        x[:, part] = fill(x[:, part], known[:, part])
        known[:, part] = True


def window_start(known: np.ndarray, W: int) -> int:
    """First position of the window that fills the first gap of ``known`` (N, L): the gap
    centred when it fits, else the window starting half a window before it."""
    L = known.shape[1]
    missing = ~known.all(0)
    a = int(np.argmax(missing))
    b = a
    while b < L and missing[b]:
        b += 1
    if b - a <= W:
        start = a - (W - (b - a)) // 2
    else:
        start = a - W // 2
    return int(min(max(start, 0), max(L - W, 0)))
