"""An attribute slider that walks the decoder's steepest path (a decoder of z alone, such as
the faithful segment VAE's), instead of adding a vector fitted on the whole training set."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from pianoplay.models.latent.axes import ATTRIBUTE_HOLD, soft_attributes

# The sliders that walk, this far in latent units per unit of amount, this much at a time
# (chosen on Nottingham's validation split for polyphony and rhythm, whose vectors turn
# back: docs/cards/vae-faithful-notes.md). Density walks too since the latent prior: its
# vector, fitted on the whole training set, pushed a tune off the region real music fills
# (density +2 chopped chords into dots from C1 to C6); the walk moves each bar along the
# decoder's own path, past the goal margin (1.5x onsets from -2 to +2) and no further:
# farther, what it should leave alone drifts (bench/slider_support.py). The register moves
# by scale steps instead (latent/scale.py).
WALK = {"unit": 3.0, "substep": 1.0}
WALKS = {
    "note_density": {"unit": 1.25, "substep": 1.0},
    "polyphony": dict(WALK),
    "rhythmic_activity": dict(WALK),
}


def walk_attribute(
    decoder: Callable[[torch.Tensor], torch.Tensor],
    decoded: Callable[[torch.Tensor, str], torch.Tensor],
    z: np.ndarray,
    walk: dict[str, float],
    name: str,
    amount: float,
    device: torch.device,
) -> np.ndarray:
    """z (S, D) after an attribute slider at ``amount``: each segment's z walks
    ``|amount| * walk["unit"]`` along the decoder's steepest path of the attribute (the
    gradient of :func:`soft_attributes` of its decoded segment, with the gradients of the
    attributes in ``ATTRIBUTE_HOLD`` projected out), up for a positive amount,
    ``walk["substep"]`` at a time. A segment stops before the first step that moves its
    attribute the wrong way, expected or decoded (``decoded(logits, name)``: the attribute
    of each segment as the model decodes it), so a larger amount walks further on the same
    path and the decoded attribute of each segment never turns back. ``decoder(z)`` gives
    the (S, L, K, 3) state logits of z alone.

    A straight vector fitted on the whole training set does not suit every segment: down
    the rhythm vector few segments thin out and many flicker into new onsets."""
    if not amount:
        return np.array(z, dtype=np.float64)
    sign, left = (1.0 if amount > 0 else -1.0), abs(amount) * walk["unit"]
    x = torch.as_tensor(z, dtype=torch.float32, device=device).clone()  # (S, D)
    moving = torch.ones(len(x), dtype=torch.bool, device=x.device)
    before = None  # x, expected and decoded attribute before the last step
    with torch.enable_grad():
        while True:
            xg = x.detach().clone().requires_grad_(True)
            logits = decoder(xg).float()  # (S, L, K, 3)
            soft = soft_attributes(logits.softmax(-1))
            value = torch.stack([soft[name].detach(), decoded(logits, name)])  # (2, S)
            if before is not None:  # undo the last step where it went the wrong way
                back = moving & (sign * (value - before[1]) < 0).any(0)
                x[back], value[:, back] = before[0][back], before[1][:, back]
                moving &= ~back
            step = min(walk["substep"], left)
            if step <= 1e-9 or not moving.any():
                return x.cpu().numpy().astype(np.float64)
            grad = torch.autograd.grad(soft[name].sum(), xg, retain_graph=True)[0]
            basis = []  # per segment, orthonormal: the held attributes' gradients
            for held in ATTRIBUTE_HOLD[name]:
                h = torch.autograd.grad(soft[held].sum(), xg, retain_graph=True)[0]
                for b in basis:
                    h = h - (h * b).sum(-1, keepdim=True) * b
                basis.append(F.normalize(h, dim=-1))
            for b in basis:
                grad = grad - (grad * b).sum(-1, keepdim=True) * b
            before = (x.clone(), value)
            x = x + (sign * step) * F.normalize(grad, dim=-1) * moving[:, None]
            left -= step
