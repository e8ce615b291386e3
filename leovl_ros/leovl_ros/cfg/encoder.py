"""The CFG encoder: height embedding + learnable column aggregation + 2D position embedding + projector.

For every column token, each of its L voxels gets ``W_f·feature + MLP(sin/cos(height))``; a multi-head attention
pooling with one learned query per head aggregates the voxels (padding masked, log-weight bias so well-observed
voxels count more, with a learned per-head scale), the sinusoidal embedding of (x, y, cell size) is added, and an
MLP projects to the LLM width. Optionally the tokens are layer-normalised to the word embeddings' scale, and
label anchors are added: the frozen 2D encoder's class/colour heads read each voxel's fused feature, and the
probability-weighted mean of learned label embeddings (initialised from the LLM's embeddings of the label names) is
added to the column's token — the text-aligned part that CLIP-style features give a large model for free, so the
question word "sofa" can find the sofa's columns. Pure tensor ops on [N, L, ·] inputs with dynamic N and L,
ONNX-exportable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class CFGEncoderConfig:
    """Widths and embedding resolutions of the CFG encoder."""

    feature_dim: int = 64
    """Width D of the fused 2D features."""
    hidden_dim: int = 256
    """Internal width of the voxel embeddings and the pooled column feature."""
    llm_dim: int = 512
    """Output width: the LLM's embedding size."""
    num_heads: int = 4
    """Attention-pooling heads (hidden_dim must be divisible by it)."""
    height_freqs: int = 8
    """Sinusoid frequencies of the height embedding."""
    pos_freqs: int = 12
    """Sinusoid frequencies per coordinate of the 2D position embedding."""
    max_wavelength: float = 32.0
    """Longest sinusoid wavelength (metres) of the height and position embeddings."""
    min_wavelength: float = 0.1
    """Shortest sinusoid wavelength (metres)."""
    out_norm: bool = False
    """LayerNorm the output tokens (gain set to the word embeddings' scale by the model that owns the encoder)."""
    anchor_classes: int = 0
    """Class outputs of the label-anchor heads (0 = no label anchors)."""
    anchor_colours: int = 0
    """Colour outputs of the label-anchor heads."""

    def __post_init__(self) -> None:
        if self.hidden_dim % self.num_heads:
            raise ValueError("hidden_dim must be divisible by num_heads")
        if (self.anchor_classes > 0) != (self.anchor_colours > 0) or min(self.anchor_classes, self.anchor_colours) < 0:
            raise ValueError("anchor_classes and anchor_colours must both be > 0 (anchors on) or both 0 (off)")


def sinusoid(x: torch.Tensor, n_freqs: int, min_wl: float, max_wl: float) -> torch.Tensor:
    """[...] metres → [..., 2·n_freqs] sin/cos features at geometric wavelengths in [min_wl, max_wl]."""
    ratio = (max_wl / min_wl) ** (1.0 / max(1, n_freqs - 1))
    wl = min_wl * ratio ** torch.arange(n_freqs, dtype=torch.float32, device=x.device)
    ang = x.unsqueeze(-1) * (2.0 * math.pi / wl)
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=-1)


class CFGEncoder(nn.Module):
    """Column tokens [N, L, D] (+ heights, weights, mask, xy, cell size) → LLM-width embeddings [N, llm_dim]."""

    def __init__(self, config: CFGEncoderConfig) -> None:
        super().__init__()
        self.config = c = config
        H = c.hidden_dim
        self.feature_proj = nn.Linear(c.feature_dim, H)
        self.height_mlp = nn.Sequential(nn.Linear(2 * c.height_freqs, H), nn.GELU(), nn.Linear(H, H))
        self.voxel_norm = nn.LayerNorm(H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.query = nn.Parameter(torch.randn(c.num_heads, H // c.num_heads) * (H // c.num_heads) ** -0.5)
        self.weight_scale = nn.Parameter(torch.ones(c.num_heads))
        self.pos_mlp = nn.Sequential(nn.Linear(6 * c.pos_freqs, H), nn.GELU(), nn.Linear(H, H))
        self.projector = nn.Sequential(nn.LayerNorm(H), nn.Linear(H, H), nn.GELU(), nn.Linear(H, c.llm_dim))
        self.out_norm = nn.LayerNorm(c.llm_dim) if c.out_norm else nn.Identity()
        n_labels = c.anchor_classes + c.anchor_colours
        if n_labels:
            self.anchor_heads = nn.Linear(c.feature_dim, n_labels).requires_grad_(False)  # the frozen 2D heads
            self.anchor_table = nn.Parameter(torch.zeros(n_labels, c.llm_dim))

    def set_label_anchors(self, class_head: nn.Module, colour_head: nn.Module, table: torch.Tensor) -> None:
        """Copy the 2D encoder's 1×1-conv class/colour heads and the initial label embeddings [C+K, llm_dim]."""
        c = self.config
        if not (c.anchor_classes + c.anchor_colours):
            raise ValueError("this CFG encoder was built without label anchors (anchor_classes = 0)")
        w = torch.cat([class_head.weight.flatten(1), colour_head.weight.flatten(1)], 0)
        b = torch.cat([class_head.bias, colour_head.bias], 0)
        if w.shape != self.anchor_heads.weight.shape or table.shape != self.anchor_table.shape:
            raise ValueError(f"label-anchor shapes do not fit: heads {tuple(w.shape)} vs "
                             f"{tuple(self.anchor_heads.weight.shape)}, table {tuple(table.shape)} vs "
                             f"{tuple(self.anchor_table.shape)}")
        with torch.no_grad():
            self.anchor_heads.weight.copy_(w)
            self.anchor_heads.bias.copy_(b)
            self.anchor_table.copy_(table)

    def label_probs(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[N, L, D] fused features → [N, C+K]: the frozen heads' class and colour probabilities, each averaged
        over the column's voxels (the first ``anchor_classes`` are the class ones)."""
        C = self.config.anchor_classes
        logits = self.anchor_heads(features)
        probs = torch.cat([torch.softmax(logits[..., :C], -1), torch.softmax(logits[..., C:], -1)], -1)
        m = mask.to(features.dtype).unsqueeze(-1)
        return (probs * m).sum(1) / m.sum(1).clamp_min(1.0)

    def label_anchors(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[N, L, D] fused features → [N, llm_dim]: mean over the column's voxels of the class- and colour-
        probability-weighted label embeddings."""
        return self.label_probs(features, mask) @ self.anchor_table

    def forward(
        self,
        features: torch.Tensor,
        heights: torch.Tensor,
        weights: torch.Tensor,
        mask: torch.Tensor,
        xy: torch.Tensor,
        cell_size: torch.Tensor,
    ) -> torch.Tensor:
        """Aggregate each column's voxels and project: returns [N, llm_dim]."""
        c = self.config
        N, L, _ = features.shape
        nh, dh = c.num_heads, c.hidden_dim // c.num_heads
        h_emb = self.height_mlp(sinusoid(heights, c.height_freqs, c.min_wavelength, c.max_wavelength))
        x = self.voxel_norm(self.feature_proj(features) + h_emb)  # [N, L, H]
        k = self.key(x).reshape(N, L, nh, dh)
        v = self.value(x).reshape(N, L, nh, dh)
        scores = (k * self.query).sum(-1) * dh**-0.5  # [N, L, nh]
        scores = scores + torch.log1p(weights.clamp_min(0.0)).unsqueeze(-1) * self.weight_scale
        scores = scores.masked_fill(~mask.unsqueeze(-1), -1e4)
        attn = torch.softmax(scores, dim=1)
        pooled = (attn.unsqueeze(-1) * v).sum(1).reshape(N, c.hidden_dim)
        pos_in = torch.cat([xy, cell_size.unsqueeze(-1)], dim=-1)  # [N, 3]
        pos = self.pos_mlp(sinusoid(pos_in, c.pos_freqs, c.min_wavelength, c.max_wavelength).reshape(N, -1))
        tokens = self.out_norm(self.projector(pooled + pos))
        if self.config.anchor_classes:
            tokens = tokens + self.label_anchors(features, mask)
        return tokens
