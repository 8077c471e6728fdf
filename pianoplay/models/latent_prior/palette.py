"""A personal prior over a masked base (issue 19): your own bars, in an order the base
finds musical.

Fitting (:func:`fit_palette`, seconds on the CPU): every bar (16 sixteenths) of the
uploads, read in C, is kept as it is (its key states) with its code: encoded and refined
towards the VAE decoding that bar (the *palette*), and quantised to the base's cluster ids.
Samples write the kept bars themselves; the codes are what the base orders, and what the
Latent sliders start from (the VAE gives dense bars back less than exactly: a third of
four-voice chorale bars decode note for note, and they lost one key in twenty). The base style whose
cross-entropy on the uploads' id windows is lowest is the one the model writes in.

Sampling (:class:`PalettePrior`): the base prior writes id sequences in that style, its
distribution restricted to the clusters the palette holds, shifted towards the uploads'
own counts of them (``bias``) and towards clusters whose bars continue the notes their
neighbours' bars hold over the bar line (``continuity_bias`` over the palette's own bars,
:meth:`PalettePrior.bar_edges`, weight ``personal.continuity``); each id is then written as
one of the palette's bars of that cluster, drawn at random, never more than ``max_run``
bars in a row in an upload's own order (so four bars of a file do not come back
together). ``max_run`` 0 is stricter: no two neighbouring bars are of clusters that
neighbour in an upload (music that repeats its bars comes back otherwise).
The base's knowledge is which bars follow and answer which; the palette's is what your
bars sound like.

    prior = Registry().load("my-style")         # a PalettePrior
    z = prior.sample(4, seed=1)                 # (4, 16, 256) codes of your bars
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pianoplay.errors import CheckpointError
from pianoplay.models.latent_prior.codebook import segment_states
from pianoplay.models.latent_prior.masked import masked_sample
from pianoplay.models.latent_prior.trained import TrainedPrior, fill_windows
from pianoplay.music.novelty import CopyIndex, chunks
from pianoplay.music.roll import roll_to_notes
from pianoplay.paths import CHECKPOINTS_DIR

KIND = "palette"  # config["personal"]["kind"]
REFINE_STEPS = 100
REFINE_BAR_STEPS = 50_000  # bars x refine steps of a fit at most (about 11 s, 1 thread)
MAX_BARS = 2048  # a palette keeps at most this many of your bars, spread over your files
COPY_LIMIT = 0.78  # a sample with a 4-bar window this close to an upload is drawn again
REDRAWS = 4  # at most; then the piece that copies least is kept
REPEAT = 1.5  # logits less per time a cluster is already written in the piece


@dataclass
class Palette:
    """The uploads' bars: codes (N, D) the VAE decodes to (or near) them, their cluster
    ids (N,) of the base, where each came from (N, 2): (file, bar), and the bars
    themselves (N, L, 88) key states (0 off, 1 onset, 2 held; None in palettes fitted
    before they were kept: then the codes are decoded)."""

    bars: np.ndarray
    ids: np.ndarray
    origin: np.ndarray
    bias: np.ndarray | None = None  # (K,) added to the base's logits (see fit_bias)
    states: np.ndarray | None = None

    def tensors(self) -> dict[str, torch.Tensor]:
        optional = {"bias": (self.bias, torch.float32), "states": (self.states, torch.uint8)}
        return {"bars": torch.as_tensor(self.bars, dtype=torch.float32),
                "ids": torch.as_tensor(self.ids, dtype=torch.int64),
                "origin": torch.as_tensor(self.origin, dtype=torch.int64),
                **{k: torch.as_tensor(v, dtype=dtype) for k, (v, dtype) in optional.items()
                   if v is not None}}


class PalettePrior(TrainedPrior):
    """A masked base prior writing only the clusters of a palette, each as one of its bars."""

    def __init__(self, base: TrainedPrior, config: dict, folder: Path, palette: Palette
                 ) -> None:
        super().__init__(base.model, config, folder, base.vae)
        self.base = base
        self.palette = palette
        K = base.model.cfg.codebook_size
        self.allowed = torch.zeros(K, dtype=torch.bool, device=base.device)
        self.allowed[torch.as_tensor(palette.ids, device=base.device)] = True
        self.bias = (None if palette.bias is None or not self.personal.get("bias", 1.0) else
                     float(self.personal.get("bias", 1.0))
                     * torch.as_tensor(palette.bias, device=base.device))
        self.members = {int(k): np.flatnonzero(palette.ids == k) for k in np.unique(palette.ids)}
        self.after = torch.zeros(K, K, dtype=torch.bool, device=base.device)  # (a, b): b
        order = np.lexsort((palette.origin[:, 1], palette.origin[:, 0]))  # follows a
        o, ids = palette.origin[order], palette.ids[order]
        next_to = (o[1:, 0] == o[:-1, 0]) & (o[1:, 1] == o[:-1, 1] + 1)
        self.after[torch.as_tensor(ids[:-1][next_to]), torch.as_tensor(ids[1:][next_to])] = True

    @classmethod
    def from_checkpoint(cls, folder, device=None, via=None, over=None) -> PalettePrior:
        """Load a palette; ``over`` is its base prior loaded (the registry passes it; else
        the shipped checkpoint of that name is loaded)."""
        from safetensors.torch import load_file

        from pianoplay.models.checkpoint import read_config

        folder = Path(folder)
        config = read_config(folder)
        base = over
        if base is None:
            base_folder = CHECKPOINTS_DIR / str(config.get("over", ""))
            if not (base_folder / "config.json").is_file():
                raise CheckpointError(f"{folder.name} is made over {config.get('over')!r}, "
                                      "which is not installed.")
            base = TrainedPrior.from_checkpoint(base_folder, device, via)
        try:
            data = load_file(str(folder / "model.safetensors"))
            palette = Palette(data["bars"].numpy(), data["ids"].numpy(),
                              data["origin"].numpy(),
                              data["bias"].numpy() if "bias" in data else None,
                              data["states"].numpy() if "states" in data else None)
        except (OSError, KeyError) as err:
            raise CheckpointError(f"{folder}: not a palette ({err}).") from None
        return cls(base, config, folder, palette)

    @property
    def personal(self) -> dict:
        return dict(self.config.get("personal", {}))

    @property
    def styles(self) -> list[str]:
        return [str(self.config["name"])]

    def register(self, style: str | None = None) -> dict | None:
        self.style_id(style)  # the one-line refusal of another name
        return (self.config.get("registers") or {}).get(self.styles[0])

    @property
    def max_run(self) -> int:
        return int(self.personal.get("max_run", 2))

    def style_id(self, style: str | None) -> int:
        super().style_id(style)  # the one-line refusal of another name
        return self.base.styles.index(self.personal["nearest_style"])

    def _complete_ids(self, z, known, style, gen, temperature: float, single: bool):
        """:meth:`TrainedPrior.complete` of a palette: the positions not ``known`` written
        as palette bars (the known ones kept, and read as context through their cluster
        ids)."""
        model = self.model
        ids = model.quantise(torch.as_tensor(z, device=self.device))
        k = torch.as_tensor(known, device=self.device)
        style_ids = torch.full((len(ids),), self.style_id(style), device=self.device)
        rule = self.allowed if self.max_run > 0 else self.unlike_uploads

        def allowed(ids, known, pos):
            return self.no_echo(ids, known, pos, rule(ids, known, pos) if callable(rule)
                                else rule.expand(len(ids), -1))
        K = self.allowed.shape[0]
        fixed = self.bias  # (K,) the uploads' own counts, and for free rows the density
        busy, free = float(self.personal.get("density", 0.0)), ~k.any(1)
        if busy and bool(free.any()):
            lean = busy * self.busier()[None] * free.float()[:, None]  # (N, K)
            fixed = lean if fixed is None else fixed + lean
        weight = float(self.personal.get("continuity", 0.0))
        joins = self.continuity_bias(self.style_id(style), weight) if weight else None
        again = float(self.personal.get("repeat", REPEAT))

        def bias(ids, known, pos):
            """(B, K): the fixed pulls, the pull towards clusters whose bars continue the
            notes their neighbours hold (:meth:`bar_edges`), and ``repeat`` less per time
            an id is already written in the row."""
            out = torch.zeros(len(ids), K, device=ids.device) if fixed is None else (
                fixed.expand(len(ids), -1).clone())
            if joins is not None:
                out = out + joins(ids, known, pos)
            if again:
                used = torch.zeros(len(ids), K, device=ids.device)
                used.scatter_add_(1, ids.clamp(0, K - 1), known.float())
                out = out - again * used
            return out
        fill_windows(ids, k.clone(), self.segments, lambda xs, ks: masked_sample(
            model, xs, ks, style_ids, gen, temperature=temperature, allowed=allowed,
            bias=bias))
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (), generator=gen)))
        out = z.copy()
        for row in range(len(z)):
            picks = self.pick_bars(ids[row].cpu().numpy(), known[row], rng)
            free = ~known[row]
            out[row, free] = self.palette.bars[picks[free]]
        return out[0] if single else out

    def sample_pieces(self, n: int = 1, style: str | None = None, seed: int | None = None,
                      steps: int | None = None, temperature: float = 1.0) -> list[np.ndarray]:
        """:meth:`TrainedPrior.sample_pieces`, each piece checked against your files
        (:meth:`sample_checked`)."""
        return self.sample_checked(n, style, seed, steps, temperature)[0]

    def sample_checked(self, n: int = 1, style: str | None = None, seed: int | None = None,
                       steps: int | None = None, temperature: float = 1.0
                       ) -> tuple[list[np.ndarray], list[float]]:
        """``n`` rolls and each one's best onset F1 of a 4-bar window against your files
        (:meth:`copy_f1`): a piece at ``COPY_LIMIT`` or more is drawn again with another
        seed, up to ``REDRAWS`` times (then the one that copies least is kept). About
        0.1 s a piece."""
        rolls = TrainedPrior.sample_pieces(self, n, style, seed, steps, temperature)
        f1s = []
        for i, roll in enumerate(rolls):
            best = self.copy_f1(roll)
            for k in range(1, REDRAWS + 1):
                if best < COPY_LIMIT:
                    break
                again = None if seed is None else int(seed) + 7919 * k + i
                other = TrainedPrior.sample_pieces(self, 1, style, again, steps, temperature)[0]
                f1 = self.copy_f1(other)
                if f1 < best:
                    rolls[i], best = other, f1
            f1s.append(best)
        return rolls, f1s

    def rolls_of(self, z: np.ndarray) -> list[np.ndarray]:
        """(N, S, D) codes -> N rolls (S * L, 88, 2): each code that is one of the palette's
        written as that bar as your file has it (:meth:`bar_rolls`), any other decoded by
        the VAE."""
        z = np.asarray(z, np.float32)
        rows = self.palette_rows(z.reshape(-1, z.shape[-1])).reshape(z.shape[:2])
        rolls = self.bar_rolls()
        out = []
        for piece, row in zip(z, rows):
            segs = [None if r < 0 else rolls[r] for r in row]
            if any(s is None for s in segs):
                decoded = self._need_vae().decode(piece[[s is None for s in segs]])[0]
                parts = iter(decoded.reshape(-1, rolls.shape[1], 88, 2))
                segs = [next(parts) if s is None else s for s in segs]
            out.append(np.concatenate(segs))
        return out

    def palette_rows(self, codes: np.ndarray) -> np.ndarray:
        """(M,) the palette row of each of (M, D) codes, -1 where a code is not one."""
        if "_rows" not in self.__dict__:
            self._rows = {np.asarray(b, np.float32).tobytes(): i
                          for i, b in enumerate(self.palette.bars)}
        return np.asarray([self._rows.get(np.asarray(c, np.float32).tobytes(), -1)
                           for c in codes], np.int64)

    def copy_f1(self, roll: np.ndarray) -> float:
        """Best onset F1 of a 4-bar window of a (T, 88, 2) roll against your files."""
        notes = roll_to_notes(roll)
        notes[:, 0] += 21
        return float(self.upload_index().best(notes)["f1"])

    def upload_index(self) -> CopyIndex:
        """Your files as the palette holds them (each bar in its place, in C), indexed for
        :meth:`copy_f1` (cached)."""
        if "_uploads" not in self.__dict__:
            bars = self.bar_rolls()  # (N, L, 88, 2)
            L, origin, pieces = bars.shape[1], self.palette.origin, []
            for f in np.unique(origin[:, 0]):
                rows = np.flatnonzero(origin[:, 0] == f)
                roll = np.zeros(((int(origin[rows, 1].max()) + 1) * L, 88, 2), np.uint8)
                for r in rows:
                    roll[origin[r, 1] * L:(origin[r, 1] + 1) * L] = bars[r]
                notes = roll_to_notes(roll)
                notes[:, 0] += 21
                pieces += chunks(notes)
            self._uploads = CopyIndex(pieces)
        return self._uploads

    def bar_rolls(self) -> np.ndarray:
        """(N, L, 88, 2) the palette's bars as samples write them: as your files have them,
        or (palettes fitted before the bars were kept) as the VAE decodes their codes
        (cached)."""
        if "_bar_rolls" not in self.__dict__:
            st = self.palette.states
            self._bar_rolls = (np.stack(self._need_vae().decode(self.palette.bars[:, None]))
                               if st is None else
                               np.stack([st > 0, st == 1], axis=-1).astype(np.uint8))
        return self._bar_rolls

    def bar_edges(self, style_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`TrainedPrior.bar_edges` of the palette's own bars, per cluster the mean
        over its bars: the share of them holding each key into their first step (K, 88),
        sounding it at their last (K, 88), and their mean onsets (K,) (0 for clusters the
        palette does not hold; cached). The base's own bars of a cluster are the base
        style's: a 3/4 waltz's bars cut into 16-step segments hold chords over segment
        lines where a 4/4 folk bar does not."""
        if "_palette_edges" not in self.__dict__:
            rolls, K = self.bar_rolls(), self.allowed.shape[0]
            held, end, onsets = np.zeros((K, 88)), np.zeros((K, 88)), np.zeros(K)
            for k, members in self.members.items():
                bars = rolls[members]
                held[k] = ((bars[:, 0, :, 0] > 0) & (bars[:, 0, :, 1] == 0)).mean(0)
                end[k] = (bars[:, -1, :, 0] > 0).mean(0)
                onsets[k] = (bars[..., 1] > 0).sum((1, 2)).mean()
            self._palette_edges = tuple(torch.as_tensor(x, dtype=torch.float32,
                                                        device=self.device)
                                        for x in (held, end, onsets))
        return self._palette_edges

    def busier(self) -> torch.Tensor:
        """(K,) each palette cluster's mean onsets per bar over its bars
        (:meth:`bar_edges`), in standard deviations from the palette's clusters' mean (0
        elsewhere; cached)."""
        if "_busier" not in self.__dict__:
            per = self.bar_edges(0)[2].cpu().numpy().astype(np.float64)  # (K,)
            vals = per[list(self.members)]
            z = (per - vals.mean()) / max(vals.std(), 1e-6)
            z[~self.allowed.cpu().numpy()] = 0.0
            self._busier = torch.as_tensor(z, dtype=torch.float32, device=self.device)
        return self._busier

    def one_bar(self) -> torch.Tensor:
        """(K,) bool: the clusters whose bars all sound the same (one bar, or copies of it;
        cached)."""
        if "_one_bar" not in self.__dict__:
            bars = self.bar_rolls().reshape(len(self.palette.bars), -1)
            single = torch.zeros(self.allowed.shape[0], dtype=torch.bool)
            for k, members in self.members.items():
                single[k] = bool((bars[members] == bars[members[0]]).all())
            self._one_bar = single.to(self.device)
        return self._one_bar

    def no_echo(self, ids: torch.Tensor, known: torch.Tensor, pos: torch.Tensor,
                ok: torch.Tensor) -> torch.Tensor:
        """(B, K) ``ok`` less, at ``pos`` (B,) of each row, the id of a known neighbour
        when that id stands for one bar only (:meth:`one_bar`): the same bar twice in a
        row (your files do not repeat a bar as it is; such samples did: a quarter of the
        chorales' bars); all of ``ok`` where that leaves nothing."""
        rows = torch.arange(len(ids), device=ids.device)
        S = ids.shape[1]
        single = self.one_bar()
        out = ok.clone()
        for side, has in ((pos - 1, pos > 0), (pos + 1, pos < S - 1)):
            side = side.clamp(0, S - 1)
            near = ids[rows, side].clamp(max=single.shape[0] - 1)
            echo = has & known[rows, side] & single[near]
            out[rows[echo], near[echo]] = False
        empty = ~out.any(1)
        out[empty] = ok[empty]
        return out

    def unlike_uploads(self, ids: torch.Tensor, known: torch.Tensor, pos: torch.Tensor
                       ) -> torch.Tensor:
        """(B, K) the palette's ids that may stand at ``pos`` (B,) of each row: none that
        follows the bar before it, or precedes the bar after it, in an upload (all of the
        palette where that leaves nothing)."""
        rows = torch.arange(len(ids), device=ids.device)
        ok = self.allowed.expand(len(ids), -1).clone()
        S = ids.shape[1]
        left, right = (pos - 1).clamp(min=0), (pos + 1).clamp(max=S - 1)
        has_left = (pos > 0) & known[rows, left]
        has_right = (pos < S - 1) & known[rows, right]
        ok &= ~(self.after[ids[rows, left]] & has_left[:, None])
        ok &= ~(self.after[:, ids[rows, right]].T & has_right[:, None])
        empty = ~ok.any(1)
        ok[empty] = self.allowed
        return ok

    def pick_bars(self, ids: np.ndarray, known: np.ndarray, rng: np.random.Generator
                  ) -> np.ndarray:
        """(L,) palette rows for ids (L,) (-1 where known): a random member of each id's
        cluster, never the ``max_run + 1``-th bar in a row of one upload in its order
        (where every bar of the cluster would be, the palette's nearest bar that is not);
        then, where there is a choice, not the bar just written and not one already in
        the piece."""
        origin = self.palette.origin
        out = np.full(len(ids), -1, np.int64)
        run = 0
        for p, k in enumerate(ids):
            if known[p]:
                run = 0
                continue
            members = self.members.get(int(k))
            if members is None:  # cannot happen: the sampler writes palette clusters only
                members = np.arange(len(origin))
            prev = out[p - 1] if p > 0 else -1
            if prev >= 0 and run >= self.max_run:  # the rule first, then the preferences
                after = (origin[:, 0] == origin[prev, 0]) & (origin[:, 1] == origin[prev, 1] + 1)
                if after[members].all():  # every bar of the cluster would go on: the
                    others = np.flatnonzero(~after)  # nearest bar that does not, instead
                    gap = ((self.palette.bars[others] - self.palette.bars[members[0]]) ** 2
                           ).sum(1)
                    members = others[[int(np.argmin(gap))]]
                else:
                    members = members[~after[members]]
            fresh = ~np.isin(members, out[:p])  # a bar not yet written in this piece
            if fresh.any():
                members = members[fresh]
            if prev >= 0 and len(members) > 1:  # not the bar just written, again
                bars = self.bar_rolls()
                other = ~(bars[members] == bars[prev]).all(axis=(1, 2, 3))
                if other.any():
                    members = members[other]
            choice = int(members[rng.integers(len(members))])
            continued = (prev >= 0 and origin[choice, 0] == origin[prev, 0]
                         and origin[choice, 1] == origin[prev, 1] + 1)
            run = run + 1 if continued else 1
            out[p] = choice
        return out


def palette_of(vae, base: TrainedPrior, rolls: list[np.ndarray],
               refine_bar_steps: int = REFINE_BAR_STEPS) -> tuple[Palette, int]:
    """Every sounding bar of ``rolls`` (T, 88, 2) (in C), at most ``MAX_BARS`` spread
    evenly over them: kept, with its code refined towards decoding it exactly
    (``REFINE_STEPS`` steps, fewer where the bars times the steps would pass
    ``refine_bar_steps``: the same files always give the same palette); and how many
    sounding bars the rolls have."""
    L = vae.segment_steps
    codes, origin, states = [], [], []
    encoded = vae.encode_rolls([np.asarray(r) for r in rolls], refine=0)
    for f, (roll, z) in enumerate(zip(rolls, encoded)):
        for j in range(len(z)):
            s = segment_states(np.asarray(roll), j, L)
            if not s.any():
                continue
            codes.append(np.asarray(z[j], np.float32))
            origin.append((f, j))
            states.append(s)
    keep = np.unique(np.linspace(0, len(codes) - 1, min(len(codes), MAX_BARS)).round()
                     .astype(np.int64))
    mu = torch.as_tensor(np.stack(codes)[keep], device=vae.device)
    target = torch.as_tensor(np.stack(states)[keep], device=vae.device)
    steps = int(min(REFINE_STEPS, refine_bar_steps // max(len(mu), 1)))
    bars = np.concatenate([vae.refine(mu[b:b + 256], target[b:b + 256], steps).cpu().numpy()
                           for b in range(0, len(mu), 256)]).astype(np.float32)
    ids = base.model.quantise(torch.as_tensor(bars, device=base.device)).cpu().numpy()
    return Palette(bars, ids.astype(np.int64), np.asarray(origin, np.int64)[keep],
                   states=np.stack(states)[keep].astype(np.uint8)), len(codes)


@torch.no_grad()
def nearest_style(base: TrainedPrior, palette: Palette) -> tuple[str, dict[str, float]]:
    """The base style with the lowest cross-entropy (nats per bar, nothing known) on the
    uploads' windows of up to ``segments`` bars, and each style's."""
    model, W = base.model, base.segments
    windows = []
    for f in np.unique(palette.origin[:, 0]):
        seq = palette.ids[palette.origin[:, 0] == f]
        windows += [seq[a:a + W] for a in range(0, max(len(seq) - W, 0) + 1, max(1, W // 2))]
    losses = {}
    for k, style in enumerate(base.styles):
        total, count = 0.0, 0
        for w in windows:
            ids = torch.as_tensor(w[None], device=base.device)
            known = torch.zeros_like(ids, dtype=torch.bool)
            logits = model(ids, known, torch.full((1,), k, device=base.device))
            total += float(F.cross_entropy(logits[0], ids[0], reduction="sum"))
            count += len(w)
        losses[style] = total / max(count, 1)
    return min(losses, key=losses.get), losses


@torch.no_grad()
def fit_bias(base: TrainedPrior, palette: Palette, style: str) -> np.ndarray:
    """(K,) log of how often the uploads use each cluster over how often the base, in
    ``style``, expects it on their windows (nothing known; both over the palette's
    clusters, counts smoothed by 0.5): added to the base's logits, the clusters come in
    about the uploads' proportions while the base still orders them."""
    model, W, K = base.model, base.segments, base.model.cfg.codebook_size
    allowed = np.zeros(K, bool)
    allowed[palette.ids] = True
    k = base.styles.index(style)
    expected, count = torch.zeros(K), 0
    for f in np.unique(palette.origin[:, 0]):
        seq = palette.ids[palette.origin[:, 0] == f]
        for a in range(0, max(len(seq) - W, 0) + 1, max(1, W // 2)):
            ids = torch.as_tensor(seq[a:a + W][None], device=base.device)
            logits = model(ids, torch.zeros_like(ids, dtype=torch.bool),
                           torch.full((1,), k, device=base.device))[0].cpu()
            logits[:, ~torch.as_tensor(allowed)] = float("-inf")
            expected += logits.softmax(-1).sum(0)
            count += ids.shape[1]
    used = np.bincount(palette.ids, minlength=K) + 0.5
    bias = np.log(used / used[allowed].sum()) - np.log(
        (expected / max(count, 1)).clamp(min=1e-6).numpy())
    return np.where(allowed, bias, 0.0).astype(np.float32)


def fit_palette(base: TrainedPrior, rolls: list[np.ndarray]) -> tuple[Palette, dict]:
    """The palette of the uploads' rolls and what the fit measured."""
    start = time.perf_counter()
    palette, bars_in_files = palette_of(base._need_vae(), base, rolls)
    style, losses = nearest_style(base, palette)
    palette.bias = fit_bias(base, palette, style)
    return palette, {"nearest_style": style, "loss_base": losses, "loss_after": losses[style],
                     "steps": 0, "bars_in_palette": int(len(palette.ids)),
                     "bars_in_files": bars_in_files,
                     "clusters": int(len(np.unique(palette.ids))),
                     "seconds_to_train": round(time.perf_counter() - start, 1)}
