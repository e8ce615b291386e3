"""SceneReader: a one-hop, question-keyed read of the scene tokens, handed to the LLM as a few evidence tokens.

A tiny LLM trained from scratch does not learn, within a CPU budget, to look up an object named in the question
among a few hundred scene tokens — not even when those tokens are the object's own class and colour word embeddings.
The reader gives it that hop: each head picks question tokens (a learned selector), matches them against the scene
tokens in the word-embedding space (query and key maps start as the identity, so a question word finds the columns
whose label anchors carry the same word before any training), and pools the matching columns into one evidence token
placed right before the answer. Its column attention is also the grounding marker.

The pooled values are the scene tokens minus the room's mean token: what an object adds over the average column. The
raw tokens share a large component (floor, layout) that hides the object's.

The evidence is a *word*: the pooled contrast is scored against the vocabulary and the evidence
token is the probability-weighted mix of word embeddings (``words``, the LLM's input embedding matrix), so what the
LLM has to do is copy a word it already knows rather than decode a new direction in its embedding space.

The first answer token is a pointer-generator mix (See et al., 2017): a gate read from the LLM's last
hidden state weighs the LLM's own distribution against each head's word distribution, so a word the reader found
reaches the answer even where the LLM would not copy it.

The copy gate has one more source: a word read from measurements of what the heads attended —
where each head's columns lie (their attention-weighted centroid, relative to the asking agent when the question is
situated), how spread out they are, how well and how many columns matched, and how far apart two heads' objects are.
Directions, distances, presence and counts are geometry that a soft word of the pooled features cannot carry.

The heads after the first make a second hop: they re-score the columns around head 0's object
(its attention-weighted centroid) by distance and by how much head 0 itself looks there, with coefficients read from
the words each head picked. "What is nearest to the bed?" names only the bed; the answer object is found by where it
lies, which a match against the question's words cannot express. SFT then supervises head 0 on the first asked object
and the other heads on the rest (``relation_targets``).

With class presence (``leovl_ros.model.presence``, ``reader.presence``) the geometry source also reads, per head,
how likely the class the head asks about is in the room at all: the head's question words are matched against each
class's own label anchor the way they are matched against columns, and the resulting class distribution weighs the
room's per-class presence probabilities. That is what "there is no sofa", "zero" and "no" need and a match score
cannot give: whether the best match is the class or only the closest thing to it. The projection starts at zero, so a
model with presence answers like one without until it learns to use it.

Each of these parts was once a switch (``reader_vocab``, ``reader_copy``, ``reader_geometry``, ``reader_relation``);
the shipped model uses them all, so they are one architecture now (history and measurements: docs/experiments.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class ReaderOutput:
    """Evidence tokens [B, H, d], each head's attention over the scene tokens [B, H, N] (0 on padding) and word
    log-probabilities [B, H, V], the measurements of what the heads attended [B, geometry_features(H)] (see
    ``SceneReader.geometry``) and, with class presence, per head the presence of its asked class and how sure the
    class match is [B, PRESENCE_FEATURES · H] (None without)."""

    evidence: torch.Tensor
    attention: torch.Tensor
    word_logp: torch.Tensor
    geometry: torch.Tensor
    presence: torch.Tensor | None = None


class SceneReader(nn.Module):
    """H heads; head h: token weights w = softmax(selector_h(question)), column weights a = w · softmax(q_h k_hᵀ)
    (heads 1.. re-scored around head 0's object), evidence_h = softmax(to_vocab(LN(v(a · (scene − mean scene
    token))) + w · question)) · words + head_embedding_h (the picked question words tell which kind of word to
    say)."""

    def __init__(self, dim: int, heads: int, words: torch.Tensor, presence: bool = False):
        """``words`` [V, d] (the LLM's word embeddings) is the reader's vocabulary: its scores start as 10 × the
        cosine to each word, so a pooled label anchor picks its own word before any training. ``heads`` ≥ 2 (head 0
        finds the named object, the others hop from it: :meth:`relate`). ``presence`` adds the class-presence input
        of the geometry source (zero at first)."""
        super().__init__()
        if heads < 2:
            raise ValueError(f"the scene reader needs at least two heads (its second hop), got {heads}")
        self.dim, self.heads = dim, heads
        self.text_norm = nn.LayerNorm(dim)
        self.scene_norm = nn.LayerNorm(dim)
        self.selector = nn.Linear(dim, heads)
        self.query = nn.Parameter(torch.eye(dim).repeat(heads, 1, 1))
        self.key = nn.Parameter(torch.eye(dim).repeat(heads, 1, 1))
        self.value = nn.Linear(dim, dim, bias=False)
        self.head_embedding = nn.Parameter(torch.zeros(heads, dim))
        self.to_vocab = nn.Linear(dim, words.shape[0])
        self.copy_gate = nn.Linear(dim, heads + 2)
        self.match_threshold = nn.Parameter(torch.zeros(heads))
        self.geometry_mlp = nn.Sequential(nn.Linear(geometry_features(heads) + dim, dim), nn.GELU(),
                                          nn.Linear(dim, dim), nn.LayerNorm(dim))
        self.geometry_vocab = nn.Linear(dim, words.shape[0])
        self.relation = nn.Linear(dim, RELATION_FEATURES)
        self.presence_proj = nn.Linear(PRESENCE_FEATURES * heads, dim) if presence else None
        with torch.no_grad():
            nn.init.normal_(self.selector.weight, std=0.02)
            nn.init.zeros_(self.selector.bias)
            self.value.weight.copy_(torch.eye(dim))
            nn.init.normal_(self.copy_gate.weight, std=0.02)  # the LLM and the sources weighed equally at first
            nn.init.zeros_(self.copy_gate.bias)
            for vocab in (self.to_vocab, self.geometry_vocab):
                w = words.float()
                vocab.weight.copy_(w / w.norm(dim=1, keepdim=True).clamp_min(1e-6) * 10.0 / dim**0.5)
                vocab.bias.zero_()
            nn.init.zeros_(self.relation.weight)  # no hop at first: the plain one-hop read
            nn.init.zeros_(self.relation.bias)
            if self.presence_proj is not None:  # no presence input at first: the reader without it
                nn.init.zeros_(self.presence_proj.weight)
                nn.init.zeros_(self.presence_proj.bias)

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, scene: torch.Tensor, scene_mask: torch.Tensor,
                words: torch.Tensor, xy: torch.Tensor, pose: torch.Tensor, class_tokens: torch.Tensor | None = None,
                presence: torch.Tensor | None = None) -> ReaderOutput:
        """text [B, T, d] question tokens (mask [B, T]), scene [B, N, d] scene tokens (mask [B, N]); words [V, d]
        the LLM's word embeddings; xy [B, N, 2] the columns' map positions and pose [B, 3] the asking agent's
        (x, y, yaw), NaN where not situated; with class presence, class_tokens [C, d] (each class's label anchor)
        and presence [B, C] (the room's presence logits)."""
        t = self.text_norm(text)
        s = self.scene_norm(scene)
        pick = self.selector(t).masked_fill(~text_mask[..., None], float("-inf")).softmax(1)  # [B, T, H]
        q = torch.einsum("btd,hde->bhte", t, self.query)
        k = torch.einsum("bnd,hde->bhne", s, self.key)
        scores = torch.einsum("bhte,bhne->bhtn", q, k) * self.dim**-0.5
        rows = scores.masked_fill(~scene_mask[:, None, None], float("-inf")).softmax(-1)  # [B, H, T, N]
        attention = torch.einsum("bth,bhtn->bhn", pick.nan_to_num(0.0), rows)
        attention = self.relate(scores, pick.nan_to_num(0.0), t, attention, scene_mask, xy.to(scores.dtype))
        valid = scene_mask[..., None].to(scene.dtype)
        centred = (scene - (scene * valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp_min(1.0)) * valid
        pooled = self.value(torch.einsum("bhn,bnd->bhd", attention, centred))
        asked = torch.einsum("bth,btd->bhd", pick.nan_to_num(0.0), t)  # the words each head picked
        word_logp = self.to_vocab(F.layer_norm(pooled, (self.dim,)) + asked).log_softmax(-1)
        evidence = word_logp.exp() @ words.to(pooled.dtype) + self.head_embedding
        match = torch.einsum("bth,bhtn->bhn", pick.nan_to_num(0.0), scores)
        geometry = self.geometry(attention, match, scene_mask, xy.to(scores.dtype), pose.to(scores.dtype))
        present = None
        if self.presence_proj is not None:
            if class_tokens is None or presence is None:
                raise ValueError("this reader reads class presence: pass class_tokens and presence")
            kc = torch.einsum("cd,hde->hce", self.scene_norm(class_tokens.to(scene.dtype)), self.key)
            per_class = torch.einsum("bth,bhte,hce->bhc", pick.nan_to_num(0.0), q, kc) * self.dim**-0.5
            asked_class = per_class.softmax(-1)  # [B, H, C]: which class each head asks about
            likely = (asked_class * presence.to(scene.dtype).sigmoid()[:, None]).sum(-1)
            present = torch.cat([likely, asked_class.amax(-1)], -1)
        return ReaderOutput(evidence=evidence, attention=attention, word_logp=word_logp, geometry=geometry,
                            presence=present)

    def relate(self, scores: torch.Tensor, pick: torch.Tensor, text: torch.Tensor, attention: torch.Tensor,
               mask: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        """Attention [B, H, N] with heads 1.. re-scored around head 0's object: score + c·(d, d², own) per column,
        d its distance from head 0's centroid (in ``GEOMETRY_SCALE_M``), own head 0's attention there relative to its
        peak, and c [3] read from the words the head picked (so 'nearest' can learn c_d < 0, 'farthest' c_d > 0, and
        both can learn to leave head 0's own object out)."""
        anchor = attention[:, 0]  # [B, N]
        centre = torch.einsum("bn,bnc->bc", anchor, xy)
        d = (xy - centre[:, None]).norm(dim=-1) / GEOMETRY_SCALE_M
        own = anchor / anchor.amax(-1, keepdim=True).clamp_min(1e-9)
        features = torch.stack([d, d * d, own], -1)  # [B, N, 3]
        coef = self.relation(torch.einsum("bth,btd->bhd", pick[..., 1:], text))  # [B, H-1, 3]
        bias = torch.einsum("bhk,bnk->bhn", coef, features)
        rows = (scores[:, 1:] + bias[:, :, None]).masked_fill(~mask[:, None, None], float("-inf")).softmax(-1)
        return torch.cat([attention[:, :1], torch.einsum("bth,bhtn->bhn", pick[..., 1:], rows)], 1)

    def geometry(self, attention: torch.Tensor, match: torch.Tensor, mask: torch.Tensor, xy: torch.Tensor,
                 pose: torch.Tensor) -> torch.Tensor:
        """[B, geometry_features(H)]: per head its best match score, log(1 + soft count of matching columns), the
        spread (m) of its columns and their centroid in the agent's frame (unit direction forward/left and distance,
        zeros when not situated); the distance between heads 0 and 1 and its direction in the agent's frame; whether
        the question is situated. Distances in units of ``GEOMETRY_SCALE_M``."""
        s = GEOMETRY_SCALE_M
        best = match.masked_fill(~mask[:, None], float("-inf")).amax(-1)  # [B, H]
        count = (torch.sigmoid(match - self.match_threshold[:, None]) * mask[:, None]).sum(-1).log1p()
        centre = torch.einsum("bhn,bnc->bhc", attention, xy)  # [B, H, 2]
        offsets = xy[:, None] - centre[:, :, None]
        spread = (attention * offsets.pow(2).sum(-1)).sum(-1).clamp_min(1e-8).sqrt() / s
        situated = torch.isfinite(pose).all(-1)
        agent = torch.where(situated[:, None], pose, torch.zeros_like(pose))
        cos, sin = agent[:, 2].cos()[:, None], agent[:, 2].sin()[:, None]

        def in_agent_frame(v: torch.Tensor) -> torch.Tensor:
            """Map-frame vectors [B, K, 2] → (unit forward, unit left, length) [B, K, 3], zero when not situated."""
            local = torch.stack([cos * v[..., 0] + sin * v[..., 1], -sin * v[..., 0] + cos * v[..., 1]], -1)
            length = local.norm(dim=-1, keepdim=True).clamp_min(1e-6)
            framed = torch.cat([local / length, length / s], -1)
            return framed * situated[:, None, None].to(framed.dtype)

        per_head = torch.cat([best[..., None], count[..., None], spread[..., None],
                              in_agent_frame(centre - agent[:, None, :2])], -1).flatten(1)
        if centre.shape[1] > 1:
            apart = centre[:, 1] - centre[:, 0]
            pair = torch.cat([apart.norm(dim=-1, keepdim=True) / s, in_agent_frame(apart[:, None])[:, 0, :2]], -1)
        else:
            pair = per_head.new_zeros((per_head.shape[0], 3))
        return torch.cat([per_head, pair, situated[:, None].to(per_head.dtype)], -1)

    def copy_mix(self, logits: torch.Tensor, hidden: torch.Tensor,
                 read: ReaderOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities [B, V] of the first answer token: g₀·softmax(logits) + Σ_h g_h·p_h + g_geo·p_geo,
        with g = softmax(copy_gate(hidden)), and log p_geo [B, V] (trained on its own too, see ``evidence_nll``).
        logits [B, V] and hidden [B, d] at the last evidence position; the heads' word distributions p_h from
        ``read.word_logp``; p_geo = softmax(geometry_vocab(MLP(read.geometry, hidden))) (the hidden state tells
        which measurement the question asks for)."""
        hidden = hidden.to(self.copy_gate.weight.dtype)
        gate = self.copy_gate(hidden).float().log_softmax(-1)  # [B, sources]
        measured = self.geometry_mlp(torch.cat([read.geometry.to(hidden.dtype), hidden], -1))
        if self.presence_proj is not None and read.presence is not None:
            measured = measured + self.presence_proj(read.presence.to(hidden.dtype))
        geometry_logp = self.geometry_vocab(measured).float().log_softmax(-1)
        sources = [logits.float().log_softmax(-1)[:, None], read.word_logp.float(), geometry_logp[:, None]]
        return torch.logsumexp(gate[..., None] + torch.cat(sources, 1), 1), geometry_logp


GEOMETRY_SCALE_M = 3.0
"""Length unit (m) of the reader's geometry features: a room's size, so they stay of order one."""
RELATION_FEATURES = 3
"""Per-column features of the second hop (``SceneReader.relate``): distance, squared distance, head 0's own mass."""
PRESENCE_FEATURES = 2
"""Per head with class presence: the presence probability of the class it asks about, and its class match's peak."""


def geometry_features(heads: int) -> int:
    """Width of ``SceneReader.geometry``: 6 per head + 3 for the pair of heads 0 and 1 + 1 (situated)."""
    return 6 * heads + 4


def grounding_nll(attention: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """Per item: −log of the reader's column attention mass on the goal columns, averaged over heads.
    attention [B, H, N], goal bool [B, N] (every head the same goal) or [B, H, N] (one per head) → [B]."""
    goal = goal if goal.dim() == 3 else goal[:, None]
    mass = (attention * goal.to(attention.dtype)).sum(-1)
    return -mass.clamp_min(1e-6).log().mean(1)


def evidence_nll(word_logp: torch.Tensor, first_word: torch.Tensor,
                 geometry_logp: torch.Tensor | None = None) -> torch.Tensor:
    """Per item: −log of the heads' mean probability of the answer's first token (the soft word should say it),
    plus −log of the geometry source's (each source learns to say it, whatever the copy gate weighs it at).
    word_logp [B, H, V], first_word [B], geometry_logp [B, V] → [B]."""
    per_head = word_logp.gather(2, first_word[:, None, None].expand(-1, word_logp.shape[1], 1))[..., 0]
    nll = -(torch.logsumexp(per_head, 1) - math.log(word_logp.shape[1]))
    if geometry_logp is not None:
        nll = nll - geometry_logp.gather(1, first_word[:, None])[:, 0]
    return nll


def pad_rows(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Variable-length [n_i, d] tensors → zero-padded [B, max n, d] and a bool mask [B, max n]."""
    n = max(int(r.shape[0]) for r in rows)
    padded = torch.stack([F.pad(r, (0, 0, 0, n - r.shape[0])) for r in rows])
    mask = torch.stack([torch.arange(n, device=r.device) < r.shape[0] for r in rows])
    return padded, mask
