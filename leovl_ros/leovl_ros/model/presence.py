"""Class presence: is a class anywhere in the room? One calibrated logit per class from the room's columns.

The scene reader finds the object a question names by matching words against column tokens; that match says where a
class looks most likely, not whether it is there at all, and the model answered questions about classes the room
lacks ("what colour is the sofa?" without a sofa) with a colour 98 % of the time. Presence is a room-level count: how
many columns, how confidently, carry the class in the frozen 2D encoder's class heads (a probe on these statistics
reached 82 % accuracy, AUC 0.91, where the model's existence answers reached 70 %). ``ClassPresence`` turns them into
one logit per class, supervised in SFT with the classes placed in each training room, and the reader hands the
presence of the class each head asks about to its geometry source (``SceneReader``).

The 2D encoder's class heads were trained on single pixels, and a column's mean of them mixes the floor under an
object with the object. ``ColumnClasses`` reads the fused column itself (each voxel's feature at its height, the
column's colour and height): which object classes stand on it, trained on the footprints of the objects in
synthetic training rooms (``training/fit_presence.py``). On validation rooms its statistics separate present from
absent classes with AUC 0.95 where the 2D heads' reach 0.90.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

PRESENCE_THRESHOLDS = (0.3, 0.6)
"""Column class probabilities above which a column counts as showing the class (one count feature each)."""
PRESENCE_STATS = 3 + len(PRESENCE_THRESHOLDS)
"""Statistics per class: best column, mean of the best three, one count per threshold, total probability."""


def presence_stats(class_probs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Columns' class probabilities [N, C] (rows where ``mask`` [N] is False ignored) → [C, PRESENCE_STATS]: the
    best column's probability, the mean of the best three, log(1 + columns above each threshold), log(1 + the summed
    probability). Counts are logarithmic so a large room and a small one stay on one scale."""
    p = class_probs if mask is None else class_probs * mask[:, None].to(class_probs.dtype)
    if p.shape[0] == 0:
        return p.new_zeros((p.shape[1], PRESENCE_STATS))
    top = p.topk(min(3, p.shape[0]), dim=0).values  # [k, C]
    counts = [(p > t).to(p.dtype).sum(0).log1p() for t in PRESENCE_THRESHOLDS]
    return torch.stack([top[0], top.mean(0), *counts, p.sum(0).log1p()], -1)


class ColumnClasses(nn.Module):
    """Fused columns → multi-label class logits [N, C]: which classes' footprints cover each column. An MLP reads
    the whole vertical profile at once — each occupied bin's fused feature, height and log hit count, bottom first,
    padded to ``layers`` bins — with the column's colour, mean height and bin count (a table top at 0.75 m over
    empty space and a cabinet's full stack differ in the profile, not in any one bin)."""

    def __init__(self, feature_dim: int, classes: int, layers: int, width: int = 256):
        super().__init__()
        self.layers = layers
        inputs = layers * (feature_dim + 3) + 5
        self.mlp = nn.Sequential(nn.Linear(inputs, width), nn.GELU(), nn.Linear(width, width), nn.GELU(),
                                 nn.Linear(width, classes))
        self.register_buffer("shift", torch.zeros(inputs))
        self.register_buffer("scale", torch.ones(inputs))

    def inputs(self, scene: Any) -> torch.Tensor:
        """[N, layers · (D + 3) + 5] raw inputs of a scene's columns (ColumnBatch or dict of its fields): per bin its
        feature, height (m), log(1 + hits) and whether it is occupied, zero-padded; then colour, mean height and
        log(1 + occupied bins)."""
        bins = slice(0, self.layers)
        m = _field(scene, "mask")[:, bins].float()[..., None]
        per_bin = torch.cat([_field(scene, "features")[:, bins], _field(scene, "heights")[:, bins, None],
                             _field(scene, "weights")[:, bins, None].log1p(), torch.ones_like(m)], -1) * m
        per_bin = nn.functional.pad(per_bin, (0, 0, 0, self.layers - per_bin.shape[1]))
        extra = [_field(scene, "colour"), _field(scene, "mean_height")[:, None], m.sum(1).log1p()]
        return torch.cat([per_bin.flatten(1), *extra], -1)

    @torch.no_grad()
    def standardise(self, inputs: torch.Tensor) -> None:
        """Set the input shift/scale from real columns' inputs [M, F] (before training)."""
        self.shift.copy_(inputs.mean(0))
        self.scale.copy_(inputs.std(0).clamp_min(1e-3))

    def classify(self, inputs: torch.Tensor) -> torch.Tensor:
        """Raw inputs [M, F] (``inputs``) → class logits [M, C]."""
        return self.mlp((inputs.to(self.shift.device) - self.shift) / self.scale)

    def forward(self, scene: Any) -> torch.Tensor:
        """A scene's columns (ColumnBatch or dict of its fields) → class logits [N, C]."""
        return self.classify(self.inputs(scene))


def _field(scene: Any, key: str) -> torch.Tensor:
    """One float field of a ColumnBatch or of a dict of its fields (a clear error when a dict lacks it)."""
    if isinstance(scene, dict) and key not in scene:
        raise ValueError(f"column classes read the scene's {key!r} (a ColumnBatch field; cached scenes keep it): "
                         f"the scene given has only {sorted(scene)}")
    value = scene[key] if isinstance(scene, dict) else getattr(scene, key)
    return value.float() if key != "mask" else value.bool()


def column_class_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of column class logits [N, C] against targets [N, C] (1 covered, 0 not, < 0
    unknown: left out, e.g. floor/wall/ceiling that no footprint labels)."""
    known = targets >= 0
    return nn.functional.binary_cross_entropy_with_logits(logits[known], targets[known].to(logits.dtype))


class ClassPresence(nn.Module):
    """[..., C, PRESENCE_STATS] → presence logits [..., C]: one linear map from every class's statistics to each
    class's logit. Classes are confused with each other (a box's columns can carry a nightstand's, a stool's a
    chair's), so a class's presence reads the other classes' evidence too; on 400 validation rooms this found 83 %
    of absent classes at 2 % of present ones called absent, where one weighting shared by all classes found 76 %
    (2026-12-06, ``docs/experiments.md``)."""

    def __init__(self, classes: int):
        super().__init__()
        self.linear = nn.Linear(classes * PRESENCE_STATS, classes)

    def forward(self, stats: torch.Tensor) -> torch.Tensor:
        return self.linear(stats.flatten(-2))

    @torch.enable_grad()
    def fit(self, stats: torch.Tensor, labels: torch.Tensor) -> None:
        """Fit to rooms' statistics [R, C, PRESENCE_STATS] against their labels [R, C] (1 present, 0 absent, < 0
        unknown: left out): per class an L2-penalised logistic regression — the summed loss plus ½‖w‖², as
        scikit-learn's with C = 1 —, solved to convergence with L-BFGS, so the fit depends on the rooms only."""
        known = labels >= 0
        targets = labels[known].to(stats.dtype)
        opt = torch.optim.LBFGS(self.parameters(), lr=1.0, max_iter=1000, tolerance_grad=1e-9,
                                tolerance_change=1e-12, history_size=20, line_search_fn="strong_wolfe")

        def objective() -> torch.Tensor:
            opt.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(self(stats)[known], targets, reduction="sum")
            loss = (loss + 0.5 * self.linear.weight.pow(2).sum()) / known.sum()
            loss.backward()
            return loss

        opt.step(objective)


def upgrade_presence_weights(state: dict[str, torch.Tensor], prefix: str = "presence.") -> dict[str, torch.Tensor]:
    """A state dict with the older ``ClassPresence`` (one weighting of the statistics shared by every class, a
    per-class bias and a per-class gain on the best column) rewritten as the same function in today's linear form;
    other state dicts unchanged."""
    if f"{prefix}shared.weight" not in state:
        return state
    state = dict(state)
    shared, shared_bias = (state.pop(f"{prefix}shared.{k}")[0].float() for k in ("weight", "bias"))
    bias, gain = (state.pop(f"{prefix}class_{k}").float() for k in ("bias", "gain"))
    classes = bias.shape[0]
    weight = torch.zeros((classes, classes * PRESENCE_STATS))
    for c in range(classes):
        weight[c, c * PRESENCE_STATS:(c + 1) * PRESENCE_STATS] = shared
        weight[c, c * PRESENCE_STATS] += gain[c]
    state[f"{prefix}linear.weight"], state[f"{prefix}linear.bias"] = weight, bias + shared_bias  # float32: exact
    return state


def presence_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of presence logits [..., C] against labels [..., C] (1 present, 0 absent, < 0 not
    known: left out); 0 where nothing is known."""
    known = labels >= 0
    if not bool(known.any()):
        return logits.sum() * 0.0
    return nn.functional.binary_cross_entropy_with_logits(logits[known], labels[known].to(logits.dtype))
