"""``pianoplay evaluate`` for a latent prior: its denoising loss on a split's codes.

Each piece is encoded by the prior's VAE (posterior means) and cut into consecutive
windows of ``segments`` codes; the loss (``model.loss``: mean squared error of the
prediction on the unknown, standardised codes; for a masked prior the cross-entropy of
the ids, nats per bar) is averaged over 8 draws of noise or masks per window, with
nothing known (sampling) and with the first half known (continuation). Lower is
better; the numbers compare priors of one objective.
"""

from __future__ import annotations

import numpy as np
import torch

from pianoplay.models.latent_prior.fitting import model_loss, prepare


@torch.no_grad()
def evaluate(trained, rolls, style: str | None = None, **_) -> dict:
    vae = trained._need_vae()
    S = trained.segments
    codes = vae.encode_rolls([np.asarray(r) for r in rolls], refine=0)
    windows = [z[k:k + S] for z in codes for k in range(0, len(z) - S + 1, S)]
    if not windows:
        return {"windows": 0}
    model = trained.model
    stacked = np.stack(windows)
    if trained.masked:
        stacked = model.quantise(torch.as_tensor(stacked)).numpy()
    x = prepare(model, stacked).to(trained.device)
    style_ids = torch.full((len(x),), trained.style_id(style), device=trained.device)
    gen = torch.Generator(device=trained.device).manual_seed(0)
    nothing = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
    half = torch.arange(S, device=x.device)[None].expand(len(x), S) < S // 2
    out = {}
    for name, known in (("sample", nothing), ("continue", half)):
        values = [float(model_loss(model, x, known, style_ids, gen)) for _ in range(8)]
        out[f"loss_{name}"] = float(np.mean(values))
    return {"windows": len(windows), "style": style or trained.styles[0],
            "objective": model.cfg.objective, **out}
