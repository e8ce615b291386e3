"""SceneReader: a one-hop, question-keyed read of the scene tokens, handed to the LLM as a few evidence tokens.

A tiny LLM trained from scratch does not learn, within a CPU budget, to look up an object named in the question
among a few hundred scene tokens — not even when those tokens are the object's own class and colour word embeddings
(see the issue notes). The reader gives it that hop: each head picks question tokens (a learned selector), matches
them against the scene tokens in the word-embedding space (query and key maps start as the identity, so a question
word finds the columns whose label anchors carry the same word before any training), and pools the matching columns
into one evidence token placed right before the answer. Its column attention is also the grounding marker.

The pooled values are the scene tokens minus the room's mean token: what an object adds over the average column. With
the ground-truth columns pooled, the LLM learned to answer colour questions from that contrast (81 % held-out after
200 steps) but not from the raw tokens (26 %), whose shared component (floor, layout) hides the object's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class ReaderOutput:
    """Evidence tokens [B, H, d] and each head's attention over the scene tokens [B, H, N] (0 on padding)."""

    evidence: torch.Tensor
    attention: torch.Tensor


class SceneReader(nn.Module):
    """H heads; head h: token weights w = softmax(selector_h(question)), column weights a = w · softmax(q_h k_hᵀ),
    evidence_h = v(a · (scene − mean scene token)) + head_embedding_h."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if heads < 1:
            raise ValueError(f"a scene reader needs at least one head, got {heads}")
        self.dim, self.heads = dim, heads
        self.text_norm = nn.LayerNorm(dim)
        self.scene_norm = nn.LayerNorm(dim)
        self.selector = nn.Linear(dim, heads)
        self.query = nn.Parameter(torch.eye(dim).repeat(heads, 1, 1))
        self.key = nn.Parameter(torch.eye(dim).repeat(heads, 1, 1))
        self.value = nn.Linear(dim, dim, bias=False)
        self.head_embedding = nn.Parameter(torch.zeros(heads, dim))
        with torch.no_grad():
            nn.init.normal_(self.selector.weight, std=0.02)
            nn.init.zeros_(self.selector.bias)
            self.value.weight.copy_(torch.eye(dim))

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, scene: torch.Tensor,
                scene_mask: torch.Tensor) -> ReaderOutput:
        """text [B, T, d] question embeddings (mask [B, T]), scene [B, N, d] scene tokens (mask [B, N])."""
        t = self.text_norm(text)
        s = self.scene_norm(scene)
        pick = self.selector(t).masked_fill(~text_mask[..., None], float("-inf")).softmax(1)  # [B, T, H]
        q = torch.einsum("btd,hde->bhte", t, self.query)
        k = torch.einsum("bnd,hde->bhne", s, self.key)
        scores = torch.einsum("bhte,bhne->bhtn", q, k) * self.dim**-0.5
        rows = scores.masked_fill(~scene_mask[:, None, None], float("-inf")).softmax(-1)  # [B, H, T, N]
        attention = torch.einsum("bth,bhtn->bhn", pick.nan_to_num(0.0), rows)
        valid = scene_mask[..., None].to(scene.dtype)
        centred = (scene - (scene * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp_min(1.0)) * valid
        evidence = self.value(torch.einsum("bhn,bnd->bhd", attention, centred)) + self.head_embedding
        return ReaderOutput(evidence=evidence, attention=attention)


def grounding_nll(attention: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """Per item: −log of the reader's column attention mass on the goal columns, averaged over heads.
    attention [B, H, N], goal bool [B, N] → [B]."""
    mass = (attention * goal[:, None].to(attention.dtype)).sum(-1)
    return -mass.clamp_min(1e-6).log().mean(1)


def pad_rows(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Variable-length [n_i, d] tensors → zero-padded [B, max n, d] and a bool mask [B, max n]."""
    n = max(int(r.shape[0]) for r in rows)
    padded = torch.stack([F.pad(r, (0, 0, 0, n - r.shape[0])) for r in rows])
    mask = torch.stack([torch.arange(n, device=r.device) < r.shape[0] for r in rows])
    return padded, mask
