"""A codebook of real bars: k-means over a data set's codes, each cluster represented by
the code of one of its members drawn at random, refined until it decodes to that bar
exactly.

A masked-token prior (``masked.py``) writes sequences of codebook ids, so every bar it
writes is a bar of the training music, decoded note for note; what it learns is which
bars follow, accompany and answer which.

    centroids = kmeans(codes, k=4096)                 # (K, D)
    ids = assign(codes, centroids)                    # (N,) nearest centroid of each code
    members = representatives(ids, k=4096)            # (K,) a member of each cluster
"""

from __future__ import annotations

import numpy as np
import torch


def assign(codes: np.ndarray, centroids: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """(N,) int64: the nearest centroid of each of ``codes`` (N, D) (squared distance)."""
    c = torch.as_tensor(centroids, dtype=torch.float32)
    c2 = (c * c).sum(1)
    out = []
    for k in range(0, len(codes), chunk):
        x = torch.as_tensor(codes[k:k + chunk], dtype=torch.float32)
        out.append((c2[None] - 2 * x @ c.T).argmin(1))
    return torch.cat(out).numpy() if out else np.zeros(0, np.int64)


def kmeans(codes: np.ndarray, k: int, iters: int = 10, sample: int = 150_000,
           seed: int = 0) -> np.ndarray:
    """(k, D) centroids of Lloyd's k-means on at most ``sample`` of ``codes`` (N, D),
    started from ``k`` distinct codes drawn at random; an emptied cluster restarts at a
    random code."""
    rng = np.random.default_rng(seed)
    data = codes[rng.choice(len(codes), size=min(sample, len(codes)), replace=False)]
    data = np.asarray(data, np.float32)
    centroids = data[rng.choice(len(data), size=k, replace=False)].copy()
    for _ in range(iters):
        ids = assign(data, centroids)
        sums = np.zeros_like(centroids)
        np.add.at(sums, ids, data)
        counts = np.bincount(ids, minlength=k)
        empty = counts == 0
        centroids = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        centroids[empty] = data[rng.choice(len(data), size=int(empty.sum()))]
    return centroids


def representatives(ids: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """(k,) int64: for each cluster, the index of one of its members drawn at random (-1
    for a cluster without members). A random member is a typical bar of its cluster; the
    member nearest the centroid is biased towards plain, sparse bars (piano-midi-de's
    cluster centres decode to half the onsets of the bars they stand for)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    first = np.full(k, -1, np.int64)
    first[ids[order][::-1]] = order[::-1]  # the last write wins: the first of the shuffle
    return first


def segment_states(roll: np.ndarray, segment: int, steps: int) -> np.ndarray:
    """(steps, 88) int64 key states (0 off, 1 onset, 2 hold) of segment ``segment`` of a
    (T, 88, 2) roll, silence-padded."""
    part = np.zeros((steps, 88, 2), np.uint8)
    piece = roll[segment * steps:(segment + 1) * steps]
    part[: len(piece)] = piece
    return np.where(part[..., 1] > 0, 1, np.where(part[..., 0] > 0, 2, 0)).astype(np.int64)


def build_codebook(vae, sets: list, rolls: list[list[np.ndarray]], k: int, seed: int = 0,
                   refine_steps: int = 100, centroids: np.ndarray | None = None):
    """A codebook of ``k`` real bars per style over code sets (``codes.CodeSet``, one per
    style, each entry a piece at one transposition; ``rolls[i]`` the untransposed rolls of
    set i in entry order) and every set's pieces as id sequences.

    The clusters are shared (k-means over every style's codes, or ``centroids``); each style
    has its own bar for each cluster, drawn from that style's members (from any style's when
    it has none), so a folk tune is written with folk bars. Returns ``(codebook (styles, k,
    D), centroids (k, D), ids per set)``."""
    flat = np.concatenate([np.concatenate(s.pieces) for s in sets]).astype(np.float32)
    centroids = kmeans(flat, k, seed=seed) if centroids is None else centroids
    ids = assign(flat, centroids)
    # where each flat code came from: (set, entry, segment)
    origin = [(si, e, j) for si, s in enumerate(sets) for e, p in enumerate(s.pieces)
              for j in range(len(p))]
    style_of = np.asarray([o[0] for o in origin])
    anyone = representatives(ids, k, seed)
    books = []
    for si in range(len(sets)):
        mine = np.flatnonzero(style_of == si)
        pick = representatives(ids[mine], k, seed)
        chosen = np.where(pick >= 0, mine[np.maximum(pick, 0)], anyone)
        books.append(refined_bars(vae, sets, rolls, flat, origin, chosen, centroids,
                                  refine_steps))
    out, at = [], 0
    for s in sets:
        n = sum(len(p) for p in s.pieces)
        part = ids[at:at + n]
        out.append(np.split(part, np.cumsum([len(p) for p in s.pieces])[:-1]))
        at += n
    return np.stack(books), centroids, out


def refined_bars(vae, sets, rolls, flat, origin, chosen, centroids, refine_steps: int):
    """(k, D): the code of each chosen bar (index into ``flat``; -1: the centroid),
    refined until the VAE decodes it to that bar."""
    from pianoplay.music.roll import shift_keys

    k, L = len(chosen), vae.segment_steps
    states = np.zeros((k, L, 88), np.int64)
    codes = centroids.copy()
    for c, index in enumerate(chosen):
        if index < 0:
            continue
        si, e, j = origin[index]
        n = len(rolls[si])
        roll = shift_keys(np.asarray(rolls[si][e % n]), sets[si].shifts[e])
        states[c] = segment_states(roll, j, L)
        codes[c] = flat[index]
    refined = []
    for b in range(0, k, 512):
        mu = torch.as_tensor(codes[b:b + 512], device=vae.device)
        target = torch.as_tensor(states[b:b + 512], device=vae.device)
        refined.append(vae.refine(mu, target, refine_steps).cpu().numpy())
    return np.concatenate(refined).astype(np.float32)
